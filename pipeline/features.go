package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// FeaturesResult describes a committed feature snapshot.
type FeaturesResult struct {
	Dir       string
	Cutoff    string
	Customers int64
	Labelled  bool
	Reused    bool // an up-to-date snapshot existed and was kept
}

// warehouseVersion identifies the warehouse contents: the hash of its
// manifests (transactions and feedback).
func warehouseVersion(workdir string) (string, datasets.WarehouseInfo, error) {
	info, err := datasets.OpenWarehouse(workdir)
	if err != nil {
		return "", info, err
	}
	b, err := os.ReadFile(filepath.Join(workdir, datasets.WarehouseDir, datasets.ManifestName))
	if err != nil {
		return "", info, fmt.Errorf("pipeline: %w", err)
	}
	// The feedback table feeds the attitudinal features: its manifest is
	// part of the version (absent: nothing).
	fb, _ := os.ReadFile(filepath.Join(workdir, datasets.FeedbackDir, datasets.ManifestName))
	h := sha256.Sum256(append(b, fb...))
	return hex.EncodeToString(h[:8]), info, nil
}

// Features builds (or reuses, when it is up to date with the warehouse) the
// feature snapshot at cutoff. The data are taken as complete up to the later
// of the last transaction day and the cutoff (a day without sales is normal);
// snapshots whose horizon ends by then get labels.
func Features(ctx context.Context, cfg Config, cutoff time.Time) (FeaturesResult, error) {
	return snapshot(ctx, cfg, cutoff, cutoff)
}

// snapshot is Features with the data known complete up to knownUntil.
func snapshot(ctx context.Context, cfg Config, cutoff, knownUntil time.Time) (FeaturesResult, error) {
	res, err := snapshots(ctx, cfg, []time.Time{cutoff}, knownUntil)
	if err != nil {
		return FeaturesResult{}, err
	}
	return res[0], nil
}

// snapshotPlan is one cutoff's snapshot in the making.
type snapshotPlan struct {
	cutoff time.Time
	res    FeaturesResult
	meta   map[string]string
	fcfg   features.Config
	rfm    []features.RFMValues // per bucket, for the RFM quintiles
}

// newSnapshotPlan plans the snapshot at cutoff of the warehouse version wv
// whose data are complete up to lastDay: its folder, labels and meta.
func newSnapshotPlan(cfg Config, cutoff time.Time, wv string, lastDay time.Time) *snapshotPlan {
	labelled := !cutoff.AddDate(0, 0, cfg.Horizon).After(lastDay)
	pl := &snapshotPlan{res: FeaturesResult{Dir: datasets.SnapshotDir(cfg.Workdir, dateString(cutoff)), Cutoff: dateString(cutoff), Labelled: labelled},
		fcfg: cfg.featureConfig(cutoff, labelled)}
	pl.meta = map[string]string{"cutoff": pl.res.Cutoff, "horizon_days": strconv.Itoa(cfg.Horizon),
		"labelled": strconv.FormatBool(labelled), "warehouse_version": wv, "cancel_window_days": strconv.Itoa(cfg.CancelWindow),
		"schema": features.SchemaVersion(), "timezone": cfg.Timezone, "tiers": features.FormatTiers(cfg.Tiers),
		"tier_window_days": strconv.Itoa(cfg.TierWindow), "satisfaction_weights": formatWeights(cfg.SatisfactionWeights)}
	return pl
}

// snapshotPasses counts the passes over the warehouse that build
// snapshots (not those finished from shard parts alone), for the tests.
var snapshotPasses atomic.Int64

// snapshots builds the feature snapshots at several cutoffs, with the data
// known complete up to knownUntil, in one pass over the warehouse: each
// bucket and its feedback are read once and feed every cutoff's builder
// (train needs five snapshots). Snapshots already up to date are reused.
func snapshots(ctx context.Context, cfg Config, cutoffs []time.Time, knownUntil time.Time) ([]FeaturesResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	wv, info, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		return nil, err
	}
	lastDay := dayOf(info.MaxTS)
	for _, cutoff := range cutoffs {
		if gap := cutoff.Sub(lastDay).Hours() / 24; gap > 7 {
			cfg.Log.Warn("cutoff long after the last transaction: is the export complete?", "stage", "features",
				"run_id", cfg.RunID, "cutoff", dateString(cutoff), "last_day", dateString(lastDay), "days", gap)
		}
	}
	if knownUntil.After(lastDay) {
		lastDay = knownUntil
	}
	out := make([]FeaturesResult, len(cutoffs))
	var todo []*snapshotPlan
	var todoIdx []int
	var dups [][2]int
	for i, cutoff := range cutoffs {
		if cutoff.Before(dayOf(info.MinTS)) {
			return nil, fmt.Errorf("pipeline: cutoff %s is before the first day of data %s", dateString(cutoff), dateString(dayOf(info.MinTS)))
		}
		pl := newSnapshotPlan(cfg, cutoff, wv, lastDay)
		// --force builds a snapshot again, once a run (Config.built).
		if m, err := datasets.ReadManifest(pl.res.Dir); err == nil && sameMeta(m.Meta, pl.meta) && (!cfg.Force || cfg.built.has(pl.res.Dir)) {
			pl.res.Customers, pl.res.Reused = m.Rows, true
			cfg.Log.Debug("snapshot up to date, reused", "stage", "features", "run_id", cfg.RunID, "cutoff", pl.res.Cutoff, "rows", m.Rows)
			out[i] = pl.res
			continue
		}
		if j := slices.IndexFunc(cutoffs[:i], cutoff.Equal); j >= 0 {
			dups = append(dups, [2]int{i, j}) // the same cutoff twice: built once
			continue
		}
		pl.cutoff = cutoff
		todo, todoIdx = append(todo, pl), append(todoIdx, i)
	}
	defer func() {
		for _, d := range dups {
			out[d[0]] = out[d[1]]
		}
	}()
	if len(todo) == 0 {
		return out, nil
	}
	if cfg.noBuild {
		return nil, errNotBuilt
	}
	if cfg.Shard.Sharded() {
		return out, writeShardParts(ctx, cfg, info, todo, todoIdx, out, start)
	}
	// A snapshot whose parts the shards of `--shard i/n` built (all of
	// them, from this warehouse and config) is finished from those parts;
	// the others are built from the warehouse.
	shardParts := make([][]string, len(todo))
	var fcfgs []features.Config
	var built []int // todo index of each fcfgs entry
	for k, pl := range todo {
		if shardParts[k], err = finishedShards(cfg, pl, info.Buckets); err != nil {
			return nil, err
		}
		if shardParts[k] != nil {
			continue
		}
		if info.PricedRows > 0 { // list prices are known: find the products' price increases first
			if pl.fcfg.PriceIncreases, err = priceIncreases(ctx, cfg, info, pl.cutoff); err != nil {
				return nil, err
			}
		}
		fcfgs, built = append(fcfgs, pl.fcfg), append(built, k)
	}
	if len(built) > 0 {
		snapshotPasses.Add(1)
	}
	// Each bucket's parts go to their files as soon as they are built; only
	// the recency, frequency and spend the RFM quintiles need stay in memory
	// until every bucket is done, when the score columns end each file.
	writers := make([]*datasets.SnapshotWriter, len(todo))
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.Abort() // a no-op once committed
			}
		}
	}()
	// With a book cache (Run, Score), the unlabelled snapshots built here
	// fill the KPI books of their cutoffs in the same pass.
	var books [][]*features.KPIBook // [bucket][fcfgs index]
	if cfg.books != nil && slices.ContainsFunc(fcfgs, func(c features.Config) bool { return !c.Labelled }) {
		books = make([][]*features.KPIBook, info.Buckets)
		for b := range books {
			books[b] = make([]*features.KPIBook, len(fcfgs))
			for j, c := range fcfgs {
				if !c.Labelled {
					if books[b][j], err = newKPIBook(cfg, info, c.Cutoff); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	mem := memory.DefaultAllocator
	for k, pl := range todo {
		pl.rfm = make([]features.RFMValues, info.Buckets)
		schema := arrow.NewSchema(append(features.BuilderSchema(pl.fcfg.Labelled).Fields(), features.RFMFields()...), nil)
		if writers[k], err = datasets.NewSnapshotWriter(pl.res.Dir, info.Buckets, schema); err != nil {
			return nil, err
		}
	}
	est := &rowEstimate{}
	err = forEachBucket(ctx, cfg, "features", info.Buckets, func(b int) error {
		recs := make([]arrow.RecordBatch, len(todo))
		defer func() {
			for _, rec := range recs {
				if rec != nil {
					rec.Release()
				}
			}
		}()
		if len(built) > 0 {
			var kpis []*features.KPIBook
			if books != nil {
				kpis = books[b]
			}
			fresh, err := bucketFeatures(ctx, cfg.Workdir, b, fcfgs, kpis, false, est)
			for j, rec := range fresh {
				recs[built[j]] = rec
			}
			if err != nil {
				return err
			}
		}
		for k := range todo {
			if shardParts[k] == nil {
				continue
			}
			rec, err := datasets.ReadParquetRecord(ctx, shardParts[k][b], mem)
			if err != nil {
				return err
			}
			recs[k], err = withSchema(rec, features.BuilderSchema(todo[k].fcfg.Labelled), shardParts[k][b])
			rec.Release()
			if err != nil {
				return err
			}
		}
		for k, rec := range recs {
			var err error
			if todo[k].rfm[b], err = features.RFMInputs(rec); err != nil {
				return err
			}
			if err := writers[k].Begin(b, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for j, c := range fcfgs {
		if books == nil || c.Labelled {
			continue
		}
		perBucket := make([]*features.KPIBook, info.Buckets)
		for b := range books {
			perBucket[b] = books[b][j]
		}
		book, err := mergeBooks(perBucket)
		if err != nil {
			return nil, err
		}
		cfg.books.put(kpiKey(cfg, wv, c.Cutoff), book)
	}
	// publish commits snapshot k, whose parts are finished, and records it.
	publish := func(k int) error {
		pl := todo[k]
		for _, v := range pl.rfm {
			pl.res.Customers += int64(len(v.Rec))
		}
		pl.rfm = nil
		if err := writers[k].Commit(pl.meta); err != nil {
			return err
		}
		attrs := []any{"cutoff", pl.res.Cutoff, "labelled", pl.res.Labelled}
		if shardParts[k] != nil { // the snapshot holds the shards' work now
			if err := os.RemoveAll(datasets.ShardsRoot(cfg.Workdir, featuresStage, "cutoff="+pl.res.Cutoff)); err != nil {
				cfg.Log.Warn("could not remove the feature shards", "stage", "features", "run_id", cfg.RunID, "err", err)
			}
			attrs = append(attrs, "from_shards", true)
		}
		out[todoIdx[k]] = pl.res
		cfg.built.add(pl.res.Dir)
		cfg.logStage("features", pl.res.Customers, start, attrs...)
		return nil
	}
	// The RFM score columns end each file, a few snapshots at a time (as
	// many as workers): a snapshot's quintiles sort its spend on one core,
	// and one snapshot's parts leave the last worker alone at their end,
	// while two share the cores. Each group's sorted values are let go
	// before the next group's are made.
	//
	// A group's snapshots are published (their parts synced, the folders
	// committed: mostly waiting for the disk) while the next group's score
	// columns are written; an error waits for the publishing to end before
	// the writers are dropped.
	var published chan error
	waitPublished := func() error {
		if published == nil {
			return nil
		}
		err := <-published
		published = nil
		return err
	}
	defer waitPublished()
	n := info.Buckets
	for lo := 0; lo < len(todo); lo += cfg.Workers {
		group := todo[lo:min(lo+cfg.Workers, len(todo))]
		scorers := make([]*features.RFMScorer, len(group))
		var wg sync.WaitGroup
		for g, pl := range group {
			wg.Go(func() { scorers[g] = features.NewRFMScorer(pl.rfm) })
		}
		wg.Wait()
		err := forEachBucket(ctx, cfg, "rfm scores", len(group)*n, func(i int) error {
			g, b := i/n, i%n
			cols := scorers[g].Columns(mem, group[g].rfm[b])
			defer func() {
				for _, c := range cols {
					c.Release()
				}
			}()
			return writers[lo+g].Finish(b, cols)
		})
		if err != nil {
			return nil, err
		}
		if err := waitPublished(); err != nil {
			return nil, err
		}
		published = make(chan error, 1)
		go func(lo, hi int) {
			var err error
			for k := lo; k < hi && err == nil; k++ {
				err = publish(k)
			}
			published <- err
		}(lo, lo+len(group))
	}
	if err := waitPublished(); err != nil {
		return nil, err
	}
	return out, nil
}

// withSchema returns rec's columns under schema (read back from Parquet, a
// batch's fields carry the file's field ids), checking that they are the
// schema's. The caller releases both.
func withSchema(rec arrow.RecordBatch, schema *arrow.Schema, file string) (arrow.RecordBatch, error) {
	if int(rec.NumCols()) != schema.NumFields() {
		return nil, &datasets.DataError{File: file, Msg: fmt.Sprintf("has %d columns, the feature schema %d", rec.NumCols(), schema.NumFields())}
	}
	for j, f := range schema.Fields() {
		if g := rec.Schema().Field(j); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return nil, &datasets.DataError{File: file, Msg: fmt.Sprintf("column %d is %s %s, the feature schema's %s %s", j+1, g.Name, g.Type, f.Name, f.Type)}
		}
	}
	return array.NewRecordBatch(schema, rec.Columns(), rec.NumRows()), nil
}

func sameMeta(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// bucketFeatures builds the feature rows of bucket b for each config (one
// read of the bucket and its feedback feeds them all). The builder of
// config k also adds the bucket's customers to kpis[k] when kpis has a
// book there — instead of building rows when kpiOnly (then no rows are
// returned).
func bucketFeatures(ctx context.Context, workdir string, b int, fcfgs []features.Config, kpis []*features.KPIBook, kpiOnly bool, est *rowEstimate) ([]arrow.RecordBatch, error) {
	cols := features.InputColumns
	if kpiOnly {
		cols = features.KPIColumns // no need to read categories, channels, discounts, points
	} else if slices.ContainsFunc(fcfgs, func(c features.Config) bool { return len(c.PriceIncreases) > 0 }) {
		cols = append(slices.Clone(cols), datasets.ColProductID)
	}
	scan, err := datasets.OpenWarehouseBucketColumns(workdir, b, cols...)
	if err != nil {
		return nil, err
	}
	defer scan.Close()
	info, err := datasets.OpenWarehouse(workdir)
	if err != nil {
		return nil, err
	}
	feedback, err := datasets.FeedbackForBucket(workdir, b, info.Buckets)
	if err != nil {
		return nil, fmt.Errorf("pipeline: bucket %d feedback: %w", b, err)
	}
	builders := make([]*features.Builder, len(fcfgs))
	defer func() {
		for _, fb := range builders {
			if fb != nil {
				fb.Release()
			}
		}
	}()
	for k, fcfg := range fcfgs {
		fb, err := features.NewBuilder(fcfg)
		if err != nil {
			return nil, err
		}
		builders[k] = fb
		if k < len(kpis) && kpis[k] != nil {
			if kpiOnly {
				fb.CollectKPIs(kpis[k])
			} else {
				fb.AlsoCollectKPIs(kpis[k])
			}
		}
		fb.SetFeedback(feedback) // read only: shared by the builders
		if !kpiOnly && info.Customers > 0 {
			fb.Reserve(est.reserve(k, info.Customers/int64(info.Buckets))) // buckets hash customers evenly
		}
	}
	// The rows are decoded once for every builder.
	dec := features.NewLineDecoder(slices.ContainsFunc(fcfgs, func(c features.Config) bool { return len(c.PriceIncreases) > 0 }))
	for scan.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ls, err := dec.DecodeColumns(scan.Chunk())
		if err != nil {
			return nil, fmt.Errorf("pipeline: bucket %d: %w", b, err)
		}
		for _, fb := range builders {
			fb.AddLines(ls)
		}
	}
	if err := scan.Err(); err != nil {
		return nil, err // a DataError: a page that does not decode, the file is damaged
	}
	out := make([]arrow.RecordBatch, len(builders))
	for k, fb := range builders {
		out[k] = fb.Finish()
		est.observe(k, out[k].NumRows(), info.Customers/int64(info.Buckets))
	}
	return out, nil
}

// rowEstimate sizes the feature builders of a pass over the buckets. A
// builder reserves 1.1 times a bucket's share of the customers until a
// bucket of its cutoff is done, then 1.05 times the largest share any had:
// an early cutoff holds fewer customers (at a million customers the oldest
// training snapshot 57%), and the builders' memory is the feature pass's
// (at ten million customers, six builders of 625k customers per worker).
// Reserving sets capacity only, never rows; a nil estimate reserves 1.1.
type rowEstimate struct {
	mu   sync.Mutex
	seen map[int]float64 // builder → the largest rows per share so far
}

func (e *rowEstimate) reserve(k int, share int64) int {
	f := 1.1
	if e != nil {
		e.mu.Lock()
		if s, ok := e.seen[k]; ok {
			f = min(f, 1.05*s)
		}
		e.mu.Unlock()
	}
	return int(float64(share)*f) + 1
}

func (e *rowEstimate) observe(k int, rows, share int64) {
	if e == nil || share <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen == nil {
		e.seen = map[int]float64{}
	}
	e.seen[k] = max(e.seen[k], float64(rows)/float64(share))
}

// forEachBucket runs fn for buckets 0..n-1 on cfg.Workers goroutines and
// returns the first error (by bucket order).
func forEachBucket(ctx context.Context, cfg Config, stage string, n int, fn func(b int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range min(cfg.Workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				if err := fn(b); err != nil {
					errs[b] = err
					cancel()
				}
				mu.Lock()
				done++
				cfg.progress(stage, done, n)
				mu.Unlock()
			}
		}()
	}
feed:
	for b := 0; b < n; b++ {
		select {
		case next <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// FeatureCatalogue is the feature catalogue as Markdown (`churn features --catalogue`).
func FeatureCatalogue() string { return features.CatalogueMarkdown() }

// committedSnapshot reads the committed snapshot at cutoff whole, with an
// error that says how to make it when there is none.
func committedSnapshot(ctx context.Context, workdir string, cutoff time.Time) (arrow.RecordBatch, error) {
	rec, err := readSnapshot(ctx, datasets.SnapshotDir(workdir, dateString(cutoff)), memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("pipeline: no feature snapshot at %s (run churn features --cutoff %s): %w", dateString(cutoff), dateString(cutoff), err)
	}
	return rec, nil
}

// FeatureSummary describes one numeric column of a snapshot.
type FeatureSummary struct {
	Name                               string
	Count, Nulls                       int
	Mean, Min, P25, P50, P75, P95, Max float64
}

// DescribeFeatures summarises every numeric column of the committed
// snapshot at cutoff (count, nulls, mean, quantiles), for
// `churn features --describe`. Quantiles are order statistics at
// ⌊q·(n−1)⌋ of the non-null values.
func DescribeFeatures(ctx context.Context, workdir string, cutoff time.Time) ([]FeatureSummary, error) {
	rec, err := committedSnapshot(ctx, workdir, cutoff)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	var out []FeatureSummary
	for _, f := range rec.Schema().Fields() {
		if f.Type.ID() == arrow.DATE32 {
			continue
		}
		vals, err := features.Float64s(rec, f.Name)
		if err != nil {
			continue // strings
		}
		s := FeatureSummary{Name: f.Name, Count: len(vals)}
		var xs []float64
		for _, v := range vals {
			if math.IsNaN(v) {
				s.Nulls++
				continue
			}
			xs = append(xs, v)
			s.Mean += v
		}
		if len(xs) > 0 {
			slices.Sort(xs)
			s.Mean /= float64(len(xs))
			q := func(p float64) float64 { return xs[int(p*float64(len(xs)-1))] }
			s.Min, s.P25, s.P50, s.P75, s.P95, s.Max = xs[0], q(0.25), q(0.5), q(0.75), q(0.95), xs[len(xs)-1]
		} else {
			s.Mean, s.Min, s.P25, s.P50, s.P75, s.P95, s.Max = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
		}
		out = append(out, s)
	}
	return out, nil
}

// formatWeights writes satisfaction weights as kind=weight,... in a fixed order ("" for equal).
func formatWeights(w map[string]float64) string {
	if w == nil {
		return ""
	}
	keys := slices.Sorted(maps.Keys(w))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatFloat(w[k], 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// priceIncreases reads every bucket's priced lines into a price book and
// returns the products' list-price increases known by the cutoff.
func priceIncreases(ctx context.Context, cfg Config, info datasets.WarehouseInfo, cutoff time.Time) (map[uint64][]int64, error) {
	books := make([]*features.PriceBook, info.Buckets)
	first := time.UnixMicro(info.MinTS).UTC()
	err := forEachBucket(ctx, cfg, "prices", info.Buckets, func(b int) error {
		books[b] = features.NewPriceBook(first, cutoff)
		rr, closeFile, err := datasets.OpenWarehouseBucket(ctx, cfg.Workdir, b, memory.DefaultAllocator, features.PriceColumns...)
		if err != nil {
			return err
		}
		defer closeFile()
		defer rr.Release()
		for rr.Next() {
			if err := books[b].Add(rr.RecordBatch()); err != nil {
				return fmt.Errorf("pipeline: bucket %d: %w", b, err)
			}
		}
		return rr.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, b := range books[1:] {
		books[0].Merge(b)
	}
	return books[0].Increases(), nil
}

// ExportSnapshot writes the committed snapshot at cutoff as CSV to path
// (atomically): every column with its catalogue name, one row per
// customer, empty cells for nulls, dates as YYYY-MM-DD, floats in their
// shortest exact form; text cells are neutralised against spreadsheet
// formulas (datasets.NeutraliseCell). For data scientists' own tools.
func ExportSnapshot(ctx context.Context, workdir string, cutoff time.Time, path string) (int, error) {
	rec, err := committedSnapshot(ctx, workdir, cutoff)
	if err != nil {
		return 0, err
	}
	defer rec.Release()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	n, p := int(rec.NumRows()), int(rec.NumCols())
	row := make([]string, p)
	for j := range p {
		row[j] = rec.ColumnName(j)
	}
	if err := w.Write(row); err != nil {
		return 0, err
	}
	cols := make([]func(i int) string, p)
	for j := range p {
		cols[j], err = cellFormatter(rec.Column(j))
		if err != nil {
			return 0, fmt.Errorf("pipeline: export %s: %w", rec.ColumnName(j), err)
		}
	}
	for i := range n {
		for j := range p {
			row[j] = cols[j](i)
		}
		if err := w.Write(row); err != nil {
			return 0, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	return n, datasets.WriteFileAtomic(path, buf.Bytes())
}

// cellFormatter returns the CSV text of each row of a snapshot column.
func cellFormatter(a arrow.Array) (func(i int) string, error) {
	null := func(f func(i int) string) func(i int) string {
		return func(i int) string {
			if a.IsNull(i) {
				return ""
			}
			return f(i)
		}
	}
	switch c := a.(type) {
	case *array.Float64:
		return null(func(i int) string { return strconv.FormatFloat(c.Value(i), 'g', -1, 64) }), nil
	case *array.Int64:
		return null(func(i int) string { return strconv.FormatInt(c.Value(i), 10) }), nil
	case *array.Int8:
		return null(func(i int) string { return strconv.Itoa(int(c.Value(i))) }), nil
	case *array.Boolean:
		return null(func(i int) string { return strconv.FormatBool(c.Value(i)) }), nil
	case *array.Date32:
		return null(func(i int) string { return c.Value(i).ToTime().Format(time.DateOnly) }), nil
	case *array.String:
		return null(func(i int) string { return datasets.NeutraliseCell(c.Value(i)) }), nil
	}
	return nil, fmt.Errorf("type %s", a.DataType())
}
