package features

import (
	"fmt"
	"math"

	"github.com/churn-dev/churn/datasets"
)

// satisfactionItems maps a survey kind to its score on a 0–1 scale, higher
// is happier: NPS/10, (CSAT−1)/4, (7−CES)/6.
var satisfactionItems = map[string]func(float64) float64{
	"nps":  func(v float64) float64 { return v / 10 },
	"csat": func(v float64) float64 { return (v - 1) / 4 },
	"ces":  func(v float64) float64 { return (7 - v) / 6 },
}

// satisfactionKinds are the items of the satisfaction index, in order.
var satisfactionKinds = []string{"nps", "csat", "ces"}

// surveyAnswer reports whether a feedback kind is an answer to a survey.
func surveyAnswer(kind string) bool {
	switch kind {
	case "nps", "csat", "ces", "perceived", "expected":
		return true
	}
	return false
}

// appendAttitude writes the attitudinal features of one customer from its
// feedback rows, counting only rows up to the cutoff.
func (b *Builder) appendAttitude(next func() featureColumn, fb []datasets.Feedback, lines []line) {
	nps, ces, perceived, expected := math.NaN(), math.NaN(), math.NaN(), math.NaN()
	var csatSum, csatN float64
	var c30, c90, c365, t90, r365, invites, answers int64
	lastComplaint := int64(math.MinInt64)
	lastAnswer := int64(math.MinInt64)
	for _, f := range fb {
		if f.TS >= b.cutoffEnd {
			break // sorted by time within the customer
		}
		age := b.cutoffEnd - f.TS
		in365 := age <= 365*usPerDay
		if surveyAnswer(f.Kind) && in365 && f.TS != lastAnswer {
			answers++ // the items of one response share its time
			lastAnswer = f.TS
		}
		switch f.Kind {
		case "nps":
			nps = f.Score
		case "csat":
			csatSum += f.Score
			csatN++
		case "ces":
			ces = f.Score
		case "perceived":
			perceived = f.Score
		case "expected":
			expected = f.Score
		case "survey":
			if in365 {
				invites++
			}
		case "complaint":
			lastComplaint = f.TS
			if age <= 30*usPerDay {
				c30++
			}
			if age <= 90*usPerDay {
				c90++
			}
			if in365 {
				c365++
			}
		case "ticket":
			if age <= 90*usPerDay {
				t90++
			}
		case "return":
			if in365 {
				r365++
			}
		}
	}
	nullable(next(), nps)
	class := ""
	switch {
	case math.IsNaN(nps):
	case nps >= 9:
		class = "promoter"
	case nps >= 7:
		class = "passive"
	default:
		class = "detractor"
	}
	next().(*strCol).Append(class)
	csat := math.NaN()
	if csatN > 0 {
		csat = csatSum / csatN
	}
	nullable(next(), csat)
	nullable(next(), ces)
	next().(*i64Col).Append(c30)
	next().(*i64Col).Append(c90)
	next().(*i64Col).Append(c365)
	since := math.NaN()
	if lastComplaint != math.MinInt64 {
		since = float64(b.cutoffDay - floorDiv(lastComplaint, usPerDay))
	}
	nullable(next(), since)
	next().(*i64Col).Append(t90)
	next().(*i64Col).Append(r365)
	bought := math.NaN()
	if lastComplaint != math.MinInt64 {
		bought = 0
		for _, l := range lines {
			if l.amount >= 0 && l.void&voidAtCutoff == 0 && l.ts > lastComplaint && l.ts < b.cutoffEnd {
				bought = 1
				break
			}
		}
	}
	nullable(next(), bought)
	// The satisfaction index: the weighted mean of the available survey
	// items on a 0–1 scale (higher is happier); weights from the config.
	var sum, wsum float64
	for i, kind := range satisfactionKinds { // a fixed order: sums are bit-for-bit repeatable
		v := [3]float64{nps, csat, ces}[i]
		w := 1.0
		if b.cfg.SatisfactionWeights != nil {
			w = b.cfg.SatisfactionWeights[kind]
		}
		if !math.IsNaN(v) && w > 0 {
			sum += w * satisfactionItems[kind](v)
			wsum += w
		}
	}
	index := math.NaN()
	if wsum > 0 {
		index = sum / wsum
	}
	nullable(next(), index)
	rate := math.NaN()
	if invites > 0 {
		rate = min(1, float64(answers)/float64(invites))
	}
	nullable(next(), rate)
	nullable(next(), perceived-expected) // NaN unless both exist
}

// validateWeights checks satisfaction weights: known survey items, ≥ 0, not all 0.
func validateWeights(w map[string]float64) error {
	if w == nil {
		return nil
	}
	sum := 0.0
	for k, v := range w {
		if _, ok := satisfactionItems[k]; !ok {
			return fmt.Errorf("features: satisfaction weight for %q: want nps, csat or ces", k)
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("features: satisfaction weight %s=%v: want a number ≥ 0", k, v)
		}
		sum += v
	}
	if sum == 0 {
		return fmt.Errorf("features: satisfaction weights are all zero")
	}
	return nil
}
