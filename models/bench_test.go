package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func BenchmarkFitBGNBDCDNOW(b *testing.B) {
	x, tx, T, _ := cdnowCBS(b)
	groups := CompressRF(x, tx, T)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitBGNBD(groups); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFitLogit50k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, p = 50000, 18
	X := make([]float64, n*p)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < p; j++ {
			v := rng.NormFloat64()
			X[i*p+j] = v
			s += v * float64(j%3-1)
		}
		if rng.Float64() < 1/(1+math.Exp(-s)) {
			y[i] = 1
		}
	}
	names := make([]string, p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitLogit(names, X, y, LogitConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}

// btyd1M simulates one million BG/NBD customers with day-resolution times
// (weeks = days/7), as a daily transaction log gives them.
var btyd1M = sync.OnceValue(func() (s struct{ x, tx, T, m []float64 }) {
	rng := rand.New(rand.NewPCG(1, 2))
	s.x, s.tx, s.T = simulateBG(rng, 1_000_000, 0.25, 4.4, 0.8, 2.4, false)
	for i := range s.x {
		s.tx[i] = math.Round(s.tx[i]*7) / 7
		s.T[i] = math.Round(s.T[i]*7) / 7
		if s.x[i] > 0 && s.tx[i] == 0 {
			s.tx[i] = 1.0 / 7
		}
		if s.x[i] > 0 {
			nu := gammaDraw(rng, 3.7, 1/15.4)
			sum := 0.0
			for range int(s.x[i]) {
				sum += gammaDraw(rng, 6.2, 1/nu)
			}
			s.m = append(s.m, sum/s.x[i])
		} else {
			s.m = append(s.m, 0)
		}
	}
	return s
})

// BenchmarkBTYD1M times the targets on one million customers
// (lifetimes on the same machine: BG/NBD 8.9 s, Gamma-Gamma 3.2 s,
// predictions 5.9 s, Pareto/NBD 213 s). Fits include compressing customers
// into unique (x, t_x, T) groups.
func BenchmarkBTYD1M(b *testing.B) {
	d := btyd1M()
	for _, name := range []string{"bgnbd", "mbgnbd", "pareto-nbd"} {
		b.Run("fit-"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FitPurchaseModel(name, CompressRF(d.x, d.tx, d.T)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(CompressRF(d.x, d.tx, d.T))), "groups")
		})
	}
	b.Run("fit-gamma-gamma", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := FitGammaGamma(d.x, d.m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("predict-palive-orders-clv", func(b *testing.B) {
		c := CLV{Purchases: BGNBD{R: 0.25, Alpha: 4.4, A: 0.8, B: 2.4}, Spend: GammaGamma{P: 6.2, Q: 3.7, Gamma: 15.4}}
		out := make([]float64, 3*len(d.x))
		b.ReportAllocs()
		for b.Loop() {
			PredictAll(out, c, d.x, d.tx, d.T, d.m, 52, 12, 0.008)
		}
	})
	for _, m := range []PurchaseModel{BGNBD{R: 0.25, Alpha: 4.4, A: 0.8, B: 2.4}, ParetoNBD{R: 0.55, Alpha: 10.6, S: 0.6, Beta: 11.7}} {
		b.Run("median-next-purchase-"+m.Name(), func(b *testing.B) {
			out := make([]float64, len(d.x))
			b.ReportAllocs()
			for b.Loop() {
				if err := MedianNextPurchaseAll(out, m, d.x, d.tx, d.T, nil, 52); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFitGBDT800k times the GBDT goal: 800k rows × 30
// features with sklearn HistGradientBoostingClassifier's defaults (100
// rounds, 31 leaves grown best-first, 255 bins; 7.5 s on 800k × 14, single
// thread), and 100 rounds of depth-6 trees.
func BenchmarkFitGBDT800k(b *testing.B) {
	const n, p = 800_000, 30
	X, y := xorData(n, p, 0.1, 1)
	for _, c := range []struct {
		name string
		cfg  GBDTConfig
	}{{"leaves31", GBDTConfig{Trees: 100, MaxLeaves: 31}}, {"depth6", GBDTConfig{Trees: 100, MaxDepth: 6}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := FitGBDT(names(p), X, y, nil, nil, c.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// churnLikeShares are the shares of the most common bin of each of churn's
// 63 model columns in the 1M synthetic shop's training rows (seed 1,
// 2025-12-31): many are mostly one value (no complaints, no redemptions,
// no survey answer) and some are constant (no tickets in the shop).
var churnLikeShares = [...]float64{0.013, 0.006, 0.300, 0.004, 0.301, 0.714, 0.447, 0.274, 0.506, 0.449, 0.124, 0.350, 0.301,
	0.460, 0.301, 0.314, 0.255, 0.685, 0.301, 0.058, 0.300, 0.272, 0.265, 0.301, 0.365, 0.487, 0.583, 0.584, 0.255, 0.259, 0.166,
	0.224, 0.449, 0.449, 0.449, 0.452, 1.000, 1.000, 0.685, 0.718, 0.830, 1.000, 0.986, 0.958, 0.875, 0.843, 1.000, 1.000, 0.843,
	0.718, 0.452, 1.000, 0.580, 0.133, 0.629, 0.008, 0.125, 0.903, 0.890, 0.898, 1.000, 1.000, 1.000}

// BenchmarkFitGBDTChurnLike times train's GBDT candidate on rows shaped like
// churn's (churnLikeShares: a column is its common value in that share of
// rows, else uniform) with train's settings: 31 leaves, depth 6, rows and
// columns sampled at 0.8; 20 rounds.
func BenchmarkFitGBDTChurnLike(b *testing.B) {
	const n = 800_000
	p := len(churnLikeShares)
	rng := rand.New(rand.NewPCG(7, 8))
	X, y := make([]float64, n*p), make([]float64, n)
	for i := range n {
		row := X[i*p : (i+1)*p]
		for j, share := range churnLikeShares {
			if rng.Float64() >= share {
				row[j] = rng.Float64()
			}
		}
		if row[0]+row[5]-row[40] > 0.6 != (rng.Float64() < 0.2) {
			y[i] = 1
		}
	}
	cfg := GBDTConfig{Trees: 20, MaxDepth: 6, MaxLeaves: 31, Subsample: 0.8, ColSample: 0.8, Seed: 1}
	for b.Loop() {
		if _, err := FitGBDT(names(p), X, y, nil, nil, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitLogit800k times the logistic-regression goal on the
// GBDT benchmark's data, 800k rows × 30 features (≤ 1 s; sklearn 2.0 s).
func BenchmarkFitLogit800k(b *testing.B) {
	const n, p = 800_000, 30
	X, y := xorData(n, p, 0.1, 1)
	for b.Loop() {
		if _, err := FitLogit(names(p), X, y, LogitConfig{Lambda: 1e-3}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictGBDT1M times scoring one million rows (goal ≤ 0.5 s).
func BenchmarkPredictGBDT1M(b *testing.B) {
	const p = 30
	X, y := xorData(100_000, p, 0.1, 1)
	m, err := FitGBDT(names(p), X, y, nil, nil, GBDTConfig{Trees: 100, MaxDepth: 6})
	if err != nil {
		b.Fatal(err)
	}
	Xs, _ := xorData(1_000_000, p, 0.1, 2)
	b.ResetTimer()
	for b.Loop() {
		m.PredictAll(Xs)
	}
}

// BenchmarkExplainGBDT times TreeSHAP reasons for 20k rows of a model shaped
// like train's (100 trees of at most 31 leaves and depth 6, 63 features),
// in the batches score uses (goal: 1M customers within the score stage).
func BenchmarkExplainGBDT(b *testing.B) {
	const p, n, batch = 63, 20_000, 256
	X, y := xorData(100_000, p, 0.1, 1)
	m, err := FitGBDT(names(p), X, y, nil, nil, GBDTConfig{Trees: 100, MaxLeaves: 31, MaxDepth: 6})
	if err != nil {
		b.Fatal(err)
	}
	Xs, _ := xorData(n, p, 0.1, 2)
	dst := make([]float64, batch*p)
	b.ResetTimer()
	for b.Loop() {
		for lo := 0; lo < n; lo += batch {
			hi := min(n, lo+batch)
			m.ContributionsBatch(dst[:(hi-lo)*p], Xs[lo*p:hi*p])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
}

// BenchmarkHistSparse sums a node's histograms by column and by row (the
// row-major bins) for nodes holding 1/16 to 1/1024 of 1.8M rows of 63
// features, 50 of them sampled, a third mostly in one bin.
func BenchmarkHistSparse(b *testing.B) {
	const n, p = 1800000, 63
	rng := rand.New(rand.NewPCG(1, 2))
	bins := make([][]uint8, p)
	byRow := newRowBins(n, p)
	for j := range bins {
		bins[j] = make([]uint8, n)
		for i := range bins[j] {
			v := uint8(rng.IntN(200))
			if j%3 == 0 && rng.IntN(4) > 0 {
				v = 0
			}
			bins[j][i] = v
			byRow.b[i*byRow.stride+j] = v
		}
	}
	packed := make([]int64, n)
	for i := range packed {
		packed[i] = rng.Int64N(1000)
	}
	feats := rng.Perm(p)[:50]
	slices.Sort(feats)
	for _, share := range []int{16, 32, 64, 256, 1024} {
		rows := make([]int32, 0, n/share)
		for _, i := range rng.Perm(n)[:n/share] {
			rows = append(rows, int32(i))
		}
		slices.Sort(rows)
		for _, by := range []string{"column", "row"} {
			b.Run(fmt.Sprintf("%s/1:%d", by, share), func(b *testing.B) {
				br := byRow
				if by == "column" {
					br = rowBins{}
				}
				defer func(v int) { sparseNode = v }(sparseNode)
				sparseNode = 1
				for b.Loop() {
					buildHist(bins, br, packed, rows, feats, p)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(feats)*len(rows)), "ns/add")
			})
		}
	}
}
