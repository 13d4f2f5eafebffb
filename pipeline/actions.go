package pipeline

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/churn-dev/churn/features"
)

// DefaultActionRules is the built-in rules file (pipeline/default_actions.yaml).
//
//go:embed default_actions.yaml
var DefaultActionRules []byte

// ActionRules are the ordered rules that pick each customer's suggested
// action; the first rule whose conditions all hold wins.
type ActionRules struct {
	Rules []ActionRule `yaml:"rules"`
}

// ActionRule is one action and when it applies.
type ActionRule struct {
	Action string   `yaml:"action"`
	ZH     string   `yaml:"zh"`
	When   RuleWhen `yaml:"when"`
}

// RuleWhen are a rule's conditions, all optional and combined with "and".
type RuleWhen struct {
	Risk                []string `yaml:"risk"`
	Segment             []string `yaml:"segment"`
	Tier                []string `yaml:"tier"`
	Satisfaction        []string `yaml:"satisfaction"`
	Subscription        []string `yaml:"subscription"`
	CLVPercentileMin    *float64 `yaml:"clv_percentile_min"`
	CLVPercentileMax    *float64 `yaml:"clv_percentile_max"`
	ComplaintWithinDays *float64 `yaml:"complaint_within_days"`
	DiscountShareMin    *float64 `yaml:"discount_share_min"`
	OverdueRatioMin     *float64 `yaml:"overdue_ratio_min"`
	Reason              []string `yaml:"reason"`
}

func (w RuleWhen) empty() bool {
	return len(w.Risk)+len(w.Segment)+len(w.Tier)+len(w.Satisfaction)+len(w.Subscription)+len(w.Reason) == 0 && w.CLVPercentileMin == nil &&
		w.CLVPercentileMax == nil && w.ComplaintWithinDays == nil && w.DiscountShareMin == nil && w.OverdueRatioMin == nil
}

// LoadActionRules reads a rules file (see pipeline/default_actions.yaml);
// unknown keys, unknown values and a missing catch-all rule are errors
// naming the file and line. tiers are the loyalty tiers the rules may name.
func LoadActionRules(path string, tiers []features.Tier) (*ActionRules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: action rules: %w", err)
	}
	return ParseActionRules(path, b, tiers)
}

// ParseActionRules parses and checks rules; name labels errors.
func ParseActionRules(name string, b []byte, tiers []features.Tier) (*ActionRules, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var r ActionRules
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := ruleLines(&doc)
	at := func(i int) string {
		if i < len(lines) {
			return fmt.Sprintf("%s:%d", name, lines[i])
		}
		return name
	}
	if len(r.Rules) == 0 {
		return nil, fmt.Errorf("%s: no rules", name)
	}
	segments := []string{"Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention", "About to sleep",
		"At risk", "Can't lose them", "Hibernating", "Lost"}
	tierNames := []string{features.TierNone}
	for _, t := range tiers {
		tierNames = append(tierNames, t.Name)
	}
	check := func(i int, what string, got, allowed []string) error {
		for _, v := range got {
			if !slices.Contains(allowed, v) {
				return fmt.Errorf("%s: rule %d: %s %q: want one of %q", at(i), i+1, what, v, allowed)
			}
		}
		return nil
	}
	for i, rule := range r.Rules {
		w := rule.When
		if rule.Action == "" {
			return nil, fmt.Errorf("%s: rule %d has no action", at(i), i+1)
		}
		for _, err := range []error{
			check(i, "risk", w.Risk, []string{"high", "medium", "low"}),
			check(i, "segment", w.Segment, segments),
			check(i, "tier", w.Tier, tierNames),
			check(i, "satisfaction", w.Satisfaction, []string{"promoter", "passive", "detractor", "none"}),
			check(i, "subscription", w.Subscription, []string{features.SubscriptionActive, features.SubscriptionCancelled, "none"}),
			check(i, "reason", w.Reason, features.ModelColumns),
		} {
			if err != nil {
				return nil, err
			}
		}
		for _, p := range []*float64{w.CLVPercentileMin, w.CLVPercentileMax} {
			if p != nil && (*p < 0 || *p > 100) {
				return nil, fmt.Errorf("%s: rule %d: CLV percentiles are 0–100, got %v", at(i), i+1, *p)
			}
		}
		if p := w.DiscountShareMin; p != nil && (*p < 0 || *p > 1) {
			return nil, fmt.Errorf("%s: rule %d: discount_share_min is 0–1, got %v", at(i), i+1, *p)
		}
		if p := w.ComplaintWithinDays; p != nil && *p < 0 {
			return nil, fmt.Errorf("%s: rule %d: complaint_within_days must be ≥ 0, got %v", at(i), i+1, *p)
		}
	}
	if last := len(r.Rules) - 1; !r.Rules[last].When.empty() {
		return nil, fmt.Errorf("%s: the last rule (%q) must have no conditions, so that every customer gets an action", at(last), r.Rules[last].Action)
	}
	return &r, nil
}

// ruleLines returns the line of each item of the rules sequence.
func ruleLines(doc *yaml.Node) []int {
	if len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "rules" {
			var out []int
			for _, item := range m.Content[i+1].Content {
				out = append(out, item.Line)
			}
			return out
		}
	}
	return nil
}

// defaultRules parses the built-in rules once.
func defaultRules(tiers []features.Tier) *ActionRules {
	r, err := ParseActionRules("default_actions.yaml", DefaultActionRules, tiers)
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return r
}

// actionInput is what the rules look at for one customer besides its row
// (which gives the risk tier, segment, loyalty tier and satisfaction class).
type actionInput struct {
	daysSinceComplaint, discount, overdue float64 // NaN when unknown
	subscription                          uint16  // the status's code in the list's texts
	reasons                               reasonSet
}

// holds reports whether row r of l meets the rule.
func (w *RuleWhen) holds(l *list, r *listRow, in *actionInput, clvPct float64) bool {
	in1 := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	sat := l.texts.str(r.satisfaction)
	if sat == "" {
		sat = "none"
	}
	segments, _ := segmentNames()
	ge := func(p *float64, v float64) bool { return p == nil || !math.IsNaN(v) && v >= *p }
	switch {
	case !in1(w.Risk, riskTiers[r.risk]), !in1(w.Segment, segments[r.segment]), !in1(w.Tier, l.texts.str(r.loyalty)), !in1(w.Satisfaction, sat),
		!in1(w.Subscription, cmp.Or(l.texts.str(in.subscription), "none")):
		return false
	case !ge(w.CLVPercentileMin, clvPct), w.CLVPercentileMax != nil && clvPct > *w.CLVPercentileMax:
		return false
	case w.ComplaintWithinDays != nil && (math.IsNaN(in.daysSinceComplaint) || in.daysSinceComplaint > *w.ComplaintWithinDays):
		return false
	case !ge(w.DiscountShareMin, in.discount), !ge(w.OverdueRatioMin, in.overdue):
		return false
	case len(w.Reason) > 0 && !in.reasons.any(w.Reason):
		return false
	}
	return true
}

// assignActions sets every row's suggested action by the rules, in lang
// (a row no rule holds for keeps its own). The CLV percentile is the
// share of the list (%) with a predicted CLV at or below the customer's:
// 100 for the most valuable.
func assignActions(l *list, inputs []actionInput, rules *ActionRules, lang string, workers int) error {
	rows := l.rows
	clv := make([]float64, len(rows))
	for i, r := range rows {
		clv[i] = r.clv
	}
	slices.Sort(clv)
	atOrBelow := countAtOrBelow(clv, func(p float64) int { return sort.Search(len(clv), func(k int) bool { return clv[k] > p }) })
	// Each rule's text once: rows share its code.
	codes := make([]uint16, len(rules.Rules))
	for k, rule := range rules.Rules {
		var err error
		if codes[k], err = l.texts.code(inLang(lang, rule.Action, cmp.Or(rule.ZH, rule.Action))); err != nil {
			return err
		}
	}
	parallelChunks(workers, len(rows), 8192, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := &rows[i]
			pct := 100 * float64(atOrBelow(r.clv)) / float64(len(clv))
			for k, rule := range rules.Rules {
				if rule.When.holds(l, r, &inputs[i], pct) {
					r.action = codes[k]
					break
				}
			}
		}
	})
	return nil
}
