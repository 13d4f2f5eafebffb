package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// Guard modes: a tripped guard is ignored, logged, or stops publication.
const (
	GuardOff  = "off"
	GuardWarn = "warn"
	GuardStop = "stop"
)

// Guards configures the checks a run makes before it publishes a list.
// Zero fields take the defaults of DefaultGuards.
type Guards struct {
	Volume, Drift, Scores, Staleness string  // modes
	VolumeMin, VolumeMax             float64 // bounds of orders in the last 30 days / the mean of the 60 before
	DriftPSI, ScorePSI               float64 // population stability index above which a feature / the scores drifted
}

// DefaultGuards: a volume drop or spike stops publication; drift, score
// shift and a stale model warn. PSI above 0.25 is the usual "significant
// shift" rule of thumb of credit scoring (Siddiqi, Credit Risk Scorecards,
// 2006: < 0.1 stable, 0.1–0.25 some change, > 0.25 significant); the volume
// bounds (half, double) are our choice, to catch a truncated or doubled
// export without tripping on seasonality.
var DefaultGuards = Guards{Volume: GuardStop, Drift: GuardWarn, Scores: GuardWarn, Staleness: GuardWarn,
	VolumeMin: 0.5, VolumeMax: 2, DriftPSI: 0.25, ScorePSI: 0.25}

func (g Guards) withDefaults() Guards {
	d := DefaultGuards
	for _, p := range []struct {
		v *string
		d string
	}{{&g.Volume, d.Volume}, {&g.Drift, d.Drift}, {&g.Scores, d.Scores}, {&g.Staleness, d.Staleness}} {
		if *p.v == "" {
			*p.v = p.d
		}
	}
	for _, p := range []struct{ v, d *float64 }{{&g.VolumeMin, &d.VolumeMin}, {&g.VolumeMax, &d.VolumeMax}, {&g.DriftPSI, &d.DriftPSI}, {&g.ScorePSI, &d.ScorePSI}} {
		if *p.v == 0 {
			*p.v = *p.d
		}
	}
	return g
}

func (g Guards) validate() error {
	for _, m := range []string{g.Volume, g.Drift, g.Scores, g.Staleness} {
		if m != GuardOff && m != GuardWarn && m != GuardStop {
			return fmt.Errorf("pipeline: guard mode %q: want off, warn or stop", m)
		}
	}
	if !(0 < g.VolumeMin && g.VolumeMin < 1 && g.VolumeMax > 1) || g.DriftPSI <= 0 || g.ScorePSI <= 0 {
		return fmt.Errorf("pipeline: want 0 < guard volume min < 1 < max and PSI thresholds > 0; got %v, %v, %v, %v", g.VolumeMin, g.VolumeMax, g.DriftPSI, g.ScorePSI)
	}
	return nil
}

// GuardResult is one check's outcome.
type GuardResult struct {
	Guard   string  `json:"guard"`   // volume, drift, scores, staleness
	Mode    string  `json:"mode"`    // off, warn, stop
	Tripped bool    `json:"tripped"` // the check failed
	Value   float64 `json:"value"`   // what was measured (ratio, PSI, days)
	Detail  string  `json:"detail"`
}

// ErrGuard is returned (wrapped) when a guard in stop mode tripped: the
// list is written but lists/LATEST still names the previous one.
var ErrGuard = errors.New("a publishing guard stopped the run")

// checkGuards runs every guard not off for the list of asOf.
func checkGuards(ctx context.Context, cfg Config, asOf time.Time, prevLatest string) ([]GuardResult, error) {
	g := cfg.Guards
	curDir := datasets.SnapshotDir(cfg.Workdir, dateString(asOf))
	if _, _, err := datasets.SnapshotParts(curDir); err != nil {
		return nil, err
	}
	var out []GuardResult
	if g.Volume != GuardOff {
		r := GuardResult{Guard: "volume", Mode: g.Volume}
		orders, err := snapshotFloats(ctx, curDir, features.Orders30d, features.Orders90d)
		if err != nil {
			return nil, err
		}
		o30, o90 := orders[0], orders[1]
		var last, before float64
		for i := range o30 {
			last += o30[i]
			before += o90[i] - o30[i]
		}
		if before == 0 {
			r.Detail = "no orders in the 60 days before the last 30: nothing to compare with"
		} else {
			r.Value = last / (before / 2)
			r.Tripped = r.Value < g.VolumeMin || r.Value > g.VolumeMax
			r.Detail = fmt.Sprintf("%.0f orders in the last 30 days, %.0f a month in the 60 before (ratio %.2f, allowed %.2f–%.2f)", last, before/2, r.Value, g.VolumeMin, g.VolumeMax)
		}
		out = append(out, r)
	}
	var churnArt ChurnArtifact
	version, err := loadChampion(cfg.Workdir, KindChurn, &churnArt)
	if err != nil {
		return nil, err
	}
	if g.Drift != GuardOff {
		r := GuardResult{Guard: "drift", Mode: g.Drift}
		refDir := datasets.SnapshotDir(cfg.Workdir, churnArt.ValidatedOn)
		if _, m, err := datasets.SnapshotParts(refDir); err != nil {
			r.Detail = fmt.Sprintf("no snapshot of %s, the champion's validation day, to compare with", churnArt.ValidatedOn)
		} else {
			// The features on the workers, a group of columns of both
			// snapshots each at a time, never them all (at ten million
			// customers the model columns of two snapshots are ~10 GB): a
			// group holds about driftGroupValues values of each snapshot,
			// and each read of a group parses the parts' footers once
			// (about 0.7 s of CPU at a million customers a column at a
			// time).
			names := features.ModelColumns
			psis, errs := make([]float64, len(names)), make([]error, len(names))
			has := make([]bool, len(names))
			group := int(min(8, max(1, driftGroupValues/max(1, m.Rows))))
			parallelChunks(cfg.Workers, len(names), group, func(lo, hi int) {
				a, err := snapshotFloats(ctx, refDir, names[lo:hi]...)
				if err != nil && hi-lo > 1 {
					// A snapshot of an older schema may lack some: one at a time.
					a, err = make([][]float64, hi-lo), nil
					for j := lo; j < hi; j++ {
						if one, err := snapshotFloats(ctx, refDir, names[j]); err == nil {
							a[j-lo] = one[0]
						}
					}
				}
				if err != nil {
					return
				}
				b, err := snapshotFloats(ctx, curDir, names[lo:hi]...)
				if err != nil {
					for j := lo; j < hi; j++ {
						errs[j] = err
					}
					return
				}
				for j := lo; j < hi; j++ {
					if a[j-lo] != nil {
						psis[j], has[j] = quantilePSI(a[j-lo], b[j-lo]), true
					}
				}
			})
			var drifted []string
			for j, name := range names {
				if errs[j] != nil {
					return nil, errs[j]
				}
				if !has[j] {
					continue
				}
				psi := psis[j]
				r.Value = math.Max(r.Value, psi)
				if psi > g.DriftPSI {
					drifted = append(drifted, fmt.Sprintf("%s %.2f", name, psi))
				}
			}
			r.Tripped = len(drifted) > 0
			r.Detail = fmt.Sprintf("largest feature PSI %.3f against the snapshot of %s (limit %.2f)", r.Value, churnArt.ValidatedOn, g.DriftPSI)
			if r.Tripped {
				r.Detail += "; drifted: " + strings.Join(drifted, ", ")
			}
		}
		out = append(out, r)
	}
	if g.Scores != GuardOff {
		r := GuardResult{Guard: "scores", Mode: g.Scores}
		if prevLatest == "" || prevLatest == dateString(asOf) {
			r.Detail = "no earlier published list to compare with"
		} else {
			// The probabilities alone: whole rows of two lists of ten million
			// customers would take about 10 GB.
			p, err1 := datasets.ReadScoreProbabilities(filepath.Join(datasets.ListDir(cfg.Workdir, prevLatest), datasets.ScoresParquet))
			q, err2 := datasets.ReadScoreProbabilities(filepath.Join(datasets.ListDir(cfg.Workdir, dateString(asOf)), datasets.ScoresParquet))
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			r.Value = binnedPSI(p, q)
			r.Tripped = r.Value > g.ScorePSI
			r.Detail = fmt.Sprintf("PSI %.3f of the churn probabilities against the list of %s (limit %.2f)", r.Value, prevLatest, g.ScorePSI)
		}
		out = append(out, r)
	}
	if g.Staleness != GuardOff {
		r := GuardResult{Guard: "staleness", Mode: g.Staleness}
		trained, err := ParseDate(cmp.Or(churnArt.RefitOn, churnArt.TrainCutoff))
		if err != nil {
			return nil, fmt.Errorf("pipeline: churn model %s: refit cutoff %q: %w", version, churnArt.RefitOn, err)
		}
		// The newest snapshot it learnt from ends its labels horizon days
		// later: the model is as old as that end.
		age := asOf.Sub(trained.AddDate(0, 0, churnArt.HorizonDays)).Hours() / 24
		r.Value = age
		r.Tripped = age > float64(cfg.MaxModelAge)
		r.Detail = fmt.Sprintf("churn model %s learnt from data up to %d days before the as-of day (limit %d)", version, int(age), cfg.MaxModelAge)
		out = append(out, r)
	}
	return out, nil
}

// driftGroupValues bounds the values of a snapshot the drift guard holds
// per worker: columns are read together while they fit (up to eight).
const driftGroupValues = 4_000_000

// snapshotFloats reads numeric columns (doubles or int64s) of the snapshot
// in dir as float64s, a null NaN, in the order of names: a column scan of
// the parts in parallel, with no Arrow arrays in between (reading through
// Arrow cost the drift guard about 2 s of CPU at a million customers,
// mostly in allocating them).
func snapshotFloats(ctx context.Context, dir string, names ...string) ([][]float64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var mu sync.Mutex
	pieces := map[int64][][]float64{}
	err := datasets.ScanSnapshotParts(ctx, dir, names, func(first int64, s *datasets.ColumnScan) error {
		out := make([][]float64, len(names))
		for j := range out {
			out[j] = make([]float64, s.Rows())
		}
		var every []int // 0, 1, …: a chunk's rows
		at := 0
		for c, err := range s.Chunks() {
			if err != nil {
				return err
			}
			for len(every) < c.N {
				every = append(every, len(every))
			}
			if at+c.N > len(out[0]) {
				return fmt.Errorf("pipeline: snapshot %s: a part has more rows than its footer says", dir)
			}
			for j, name := range names {
				if err := chunkFloats(out[j][at:], 1, c, name, every[:c.N]); err != nil {
					return fmt.Errorf("pipeline: snapshot %s: %w", dir, err)
				}
			}
			at += c.N
		}
		for j := range out {
			out[j] = out[j][:at]
		}
		mu.Lock()
		pieces[first] = out
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	firsts := slices.Sorted(maps.Keys(pieces))
	n := 0
	for _, f := range firsts {
		n += len(pieces[f][0])
	}
	cols := make([][]float64, len(names))
	for j := range cols {
		cols[j] = make([]float64, 0, n)
		for _, f := range firsts {
			cols[j] = append(cols[j], pieces[f][j]...)
		}
	}
	return cols, nil
}

// quantilePSI is the population stability index of b against a over ten
// quantile bins of a (missing values, NaN, as an eleventh bin).
func quantilePSI(a, b []float64) float64 {
	// The deciles of a without NaN: its values at ranks k·n/10 once sorted,
	// found without sorting it.
	keys := make([]uint64, 0, len(a))
	for _, v := range a {
		if v == v {
			keys = append(keys, features.FloatKey(v))
		}
	}
	ranks := make([]int, 0, 9)
	for k := 1; k < 10 && len(keys) > 0; k++ {
		ranks = append(ranks, k*len(keys)/10)
	}
	var edges []float64
	for _, key := range rankKeys(keys, ranks) {
		if e := features.KeyFloat(key); len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	// Bins: the edges at or below a value (a value equal to an edge belongs
	// above it, as when the edges were cut); NaN last. All nine edge slots
	// are compared, the unused ones NaN (below nothing), without branches:
	// the bins of a feature's values are a coin toss for a branch predictor.
	var e [9]float64
	for k := range e {
		e[k] = math.NaN()
	}
	copy(e[:], edges)
	count := func(vals []float64) []float64 {
		// Four sets of counters taken in turn: a run of values in one bin
		// would otherwise make each increment wait for the one before.
		var c [4][11]int
		for k, v := range vals {
			i := 10 // NaN
			if v == v {
				i = le(e[0], v) + le(e[1], v) + le(e[2], v) + le(e[3], v) + le(e[4], v) + le(e[5], v) + le(e[6], v) + le(e[7], v) + le(e[8], v)
			}
			c[k&3][i]++
		}
		out := make([]float64, len(edges)+2)
		for i := range len(edges) + 1 {
			out[i] = float64(c[0][i] + c[1][i] + c[2][i] + c[3][i])
		}
		out[len(edges)+1] = float64(c[0][10] + c[1][10] + c[2][10] + c[3][10])
		return out
	}
	return psiCounts(count(a), count(b), len(a), len(b))
}

// rankKeys returns the keys a sorted keys would hold at each of ranks
// (ascending, each < len(keys)), by radix selection: a count of the keys'
// top 16 bits finds the bucket of each rank, and only those buckets'
// keys are gathered and selected in, on the next 16 bits; a bucket of one
// repeated key (a discrete feature's common value) ends there. About two
// passes over the keys where quickselect's partitions took several, with
// a branch a value (the drift guard's deciles of 63 columns of two
// snapshots: 0.53 → 0.25 s of CPU at a million customers). keys is left
// as it was.
func rankKeys(keys []uint64, ranks []int) []uint64 {
	out := make([]uint64, len(ranks))
	// One count and one slot table serve every level: a level is done
	// with them before it descends.
	count := make([]int32, 1<<16)
	slot := make([]int32, 1<<16) // 1 + the part of each needed bucket, 0 for none (a part a rank at most)
	var sel func(keys []uint64, ranks []int, out []uint64, shift uint)
	sel = func(keys []uint64, ranks []int, out []uint64, shift uint) {
		if len(keys) <= 1024 {
			s := slices.Clone(keys)
			slices.Sort(s)
			for i, r := range ranks {
				out[i] = s[r]
			}
			return
		}
		clear(count)
		for _, k := range keys {
			count[k>>shift&0xffff]++
		}
		// Each rank's bucket and its rank within it; ranks ascend, so the
		// ranks of one bucket are neighbours.
		type part struct {
			bucket, first, n int
			keys             []uint64
		}
		var parts []part
		start, b := 0, 0
		for i, r := range ranks {
			for start+int(count[b]) <= r {
				start += int(count[b])
				b++
			}
			if len(parts) > 0 && parts[len(parts)-1].bucket == b {
				parts[len(parts)-1].n++
			} else {
				parts = append(parts, part{bucket: b, first: i, n: 1})
			}
			ranks[i] = r - start // the rank within the bucket
		}
		if len(parts) == 1 && int(count[parts[0].bucket]) == len(keys) {
			parts[0].keys = keys // every key in one bucket: no copy
		} else {
			clear(slot)
			for j := range parts {
				slot[parts[j].bucket] = int32(j + 1)
				parts[j].keys = make([]uint64, 0, count[parts[j].bucket])
			}
			for _, k := range keys {
				if j := slot[k>>shift&0xffff]; j != 0 {
					parts[j-1].keys = append(parts[j-1].keys, k)
				}
			}
		}
		for _, p := range parts {
			rs, o := ranks[p.first:p.first+p.n], out[p.first:p.first+p.n]
			if shift == 0 || !slices.ContainsFunc(p.keys, func(k uint64) bool { return k != p.keys[0] }) {
				for i := range rs {
					o[i] = p.keys[0] // one repeated key
				}
				continue
			}
			sel(p.keys, rs, o, shift-16)
		}
	}
	rs := slices.Clone(ranks)
	if len(keys) > 0 && len(rs) > 0 {
		sel(keys, rs, out, 48)
	}
	return out
}

// le is 1 when a ≤ b, else 0 (NaN: 0).
func le(a, b float64) int {
	if a <= b {
		return 1
	}
	return 0
}

// binnedPSI is the PSI of probabilities in ten equal-width bins of [0, 1].
func binnedPSI(a, b []float64) float64 {
	return psi(a, b, 10, func(v float64) int { return min(9, max(0, int(v*10))) })
}

func psi(a, b []float64, n int, bin func(float64) int) float64 {
	ca, cb := make([]float64, n), make([]float64, n)
	for _, v := range a {
		ca[bin(v)]++
	}
	for _, v := range b {
		cb[bin(v)]++
	}
	return psiCounts(ca, cb, len(a), len(b))
}

// psiCounts is the PSI of two binnings, counts ca of na values and cb of nb.
func psiCounts(ca, cb []float64, na, nb int) float64 {
	const floor = 1e-4 // empty bins count as a tiny share, so the index stays finite
	s := 0.0
	for i := range ca {
		pa, pb := math.Max(ca[i]/float64(na), floor), math.Max(cb[i]/float64(nb), floor)
		if ca[i] == 0 && cb[i] == 0 {
			continue
		}
		s += (pb - pa) * math.Log(pb/pa)
	}
	return s
}
