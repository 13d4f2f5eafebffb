package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// Shard is one of N slices of the work: bucket b belongs to shard b mod N.
// Buckets are independent (a customer's rows all live in one), so shards
// can run at once, on one machine or many, and a merge step joins what
// they wrote. The zero value (and N = 1) is the whole work.
type Shard struct{ I, N int }

// MaxShards bounds N: more shards than buckets leave shards idle.
const MaxShards = 1024

// ParseShard parses "i/n" (0 ≤ i < n ≤ MaxShards).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4 (shard 0 of 4)", s)
	}
	sh := Shard{I: i, N: n}
	return sh, sh.validate()
}

func (s Shard) validate() error {
	if s == (Shard{}) {
		return nil
	}
	if s.N < 1 || s.N > MaxShards || s.I < 0 || s.I >= s.N {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n ≤ %d", s.I, s.N, MaxShards)
	}
	return nil
}

// Sharded reports whether s is a proper slice (N > 1).
func (s Shard) Sharded() bool { return s.N > 1 }

// Owns reports whether bucket b is the shard's.
func (s Shard) Owns(b int) bool { return !s.Sharded() || b%s.N == s.I }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// errNotBuilt: a snapshot is not up to date and Config.noBuild forbids
// building it.
var errNotBuilt = errors.New("pipeline: snapshot not built")

// scoreStage names score's shard folders: shards/score/as-of=DAY/.
const scoreStage = "score"

// scoreShard scores the buckets of cfg.Shard and commits them, with what
// the list-wide steps need, to shards/score/as-of=DAY/shard-III-of-NNN/
// for Merge. The feature snapshot must exist and be up to date: shards
// running at once must not each rebuild it.
func scoreShard(ctx context.Context, cfg Config, asOf time.Time, sp *scorePrep, start time.Time) (ScoreResult, error) {
	dir := datasets.ShardDir(cfg.Workdir, scoreStage, "as-of="+dateString(asOf), cfg.Shard.I, cfg.Shard.N)
	if m, err := datasets.ReadManifest(dir); err == nil && m.Meta["inputs_key"] == sp.key && !cfg.Force {
		cfg.Log.Info("score shard up to date, reused", "stage", "score", "run_id", cfg.RunID, "shard", cfg.Shard.String(), "dir", dir)
		return ScoreResult{Dir: dir, Customers: int(m.Rows), Reused: true}, nil
	}
	fr, err := currentSnapshot(ctx, cfg, asOf)
	if err != nil {
		return ScoreResult{}, err
	}
	parts, _, err := datasets.ListSnapshotParts(fr.Dir)
	if err != nil {
		return ScoreResult{}, err
	}
	var out []datasets.ScoredCustomer
	var pr []string                                                                                        // rows by part, so merge can place every row before reading the next shard
	if slices.ContainsFunc(parts, func(p string) bool { return cfg.Shard.Owns(datasets.PartNumber(p)) }) { // more shards than buckets: none
		sc, partRows, err := scoreSnapshot(ctx, cfg, asOf, sp, fr.Dir, cfg.Shard.Owns)
		if err != nil {
			return ScoreResult{}, err
		}
		out = make([]datasets.ScoredCustomer, 0, len(sc.l.rows))
		for _, p := range slices.Sorted(maps.Keys(partRows)) { // the rows are in part order
			pr = append(pr, fmt.Sprintf("%d:%d", p, partRows[p]))
			for range partRows[p] {
				i := len(out)
				if i == len(sc.l.rows) {
					return ScoreResult{}, fmt.Errorf("pipeline: snapshot %s: its parts count more rows than their columns hold", fr.Dir)
				}
				in := &sc.inputs[i]
				out = append(out, datasets.ScoredCustomer{Part: int32(p), FirstOrderDay: sc.first[i], Subscription: sc.l.texts.str(in.subscription),
					DaysSinceComplaint: in.daysSinceComplaint, DiscountShare: in.discount, OverdueRatio: in.overdue, ReasonFeatures: in.reasons.names()})
				sc.l.row(i, &out[i].Row)
			}
		}
		if len(out) != len(sc.l.rows) {
			return ScoreResult{}, fmt.Errorf("pipeline: snapshot %s: its parts count %d rows, their columns hold %d", fr.Dir, len(out), len(sc.l.rows))
		}
	}
	partRows := strings.Join(pr, ",")
	// The KPI book of the shard's buckets, one per bucket: merge adds them
	// up in bucket order, as score does, without reading the warehouse.
	books, err := kpiBooks(ctx, cfg, asOf, cfg.Shard.Owns)
	if err != nil {
		return ScoreResult{}, err
	}
	var kb []shardBook
	for b, book := range books {
		if book != nil {
			kb = append(kb, shardBook{Bucket: b, Book: book})
		}
	}
	kpiJSON, err := json.Marshal(kb)
	if err != nil {
		return ScoreResult{}, fmt.Errorf("pipeline: %w", err)
	}
	err = datasets.CommitFolder(dir, func(tmp string) (datasets.Manifest, error) {
		if err := datasets.WriteScored(filepath.Join(tmp, datasets.ScoredFile), out); err != nil {
			return datasets.Manifest{}, err
		}
		if err := os.WriteFile(filepath.Join(tmp, shardBooksFile), kpiJSON, datasets.FileMode); err != nil {
			return datasets.Manifest{}, fmt.Errorf("pipeline: %w", err)
		}
		return datasets.Manifest{Kind: "score-shard", Rows: int64(len(out)), Meta: map[string]string{
			"as_of": dateString(asOf), "shard": cfg.Shard.String(),
			"snapshot_parts": strconv.Itoa(len(parts)), "part_rows": partRows, "churn_model": sp.churnV, "clv_model": sp.clvV, "inputs_key": sp.key}}, nil
	})
	if err != nil {
		return ScoreResult{}, err
	}
	cfg.logStage("score", int64(len(out)), start, "as_of", dateString(asOf), "shard", cfg.Shard.String(), "dir", dir)
	return ScoreResult{Dir: dir, Customers: len(out)}, nil
}

// shardBooksFile holds a score shard's KPI books, one per bucket.
const shardBooksFile = "kpis.json"

// shardBook is one bucket's KPI book in a score shard.
type shardBook struct {
	Bucket int               `json:"bucket"`
	Book   *features.KPIBook `json:"book"`
}

// currentSnapshot returns the committed snapshot at asOf if it is up to
// date with the warehouse and config, and an error saying how to build it
// otherwise. --force redoes the shard's or merge's own work, not the
// snapshot, which they never build.
func currentSnapshot(ctx context.Context, cfg Config, asOf time.Time) (FeaturesResult, error) {
	cfg.noBuild, cfg.Force = true, false
	res, err := snapshots(ctx, cfg, []time.Time{asOf}, asOf)
	if errors.Is(err, errNotBuilt) {
		return FeaturesResult{}, fmt.Errorf("pipeline: the feature snapshot at %s is missing or older than the warehouse; build it first (churn features --workdir %s --cutoff %s)",
			dateString(asOf), cfg.Workdir, dateString(asOf))
	}
	if err != nil {
		return FeaturesResult{}, err
	}
	return res[0], nil
}

// Merge joins the score shards of asOf (shards/score/as-of=DAY/, from
// `churn score --shard i/n`) into the list `churn score` publishes, byte
// for byte: every shard must be committed, scored from the same inputs
// (champions, warehouse, config) as the list would be now, and together
// they must cover every part of the snapshot. cfg.Shard.N, when set, is the
// shard count to merge; otherwise the count of the shard folders found.
func Merge(ctx context.Context, cfg Config, asOf time.Time) (ScoreResult, error) {
	cfg, sp, start, err := beginScore(cfg, asOf)
	if err != nil {
		return ScoreResult{}, err
	}
	defer lowerGCPercent()() // every scored row, little else
	if res, ok := reusableList(cfg, asOf, sp.key); ok {
		cfg.Log.Info("list up to date, reused", "stage", "merge", "run_id", cfg.RunID, "list", res.ListCSV)
		return res, nil
	}
	day := "as-of=" + dateString(asOf)
	root := datasets.ShardsRoot(cfg.Workdir, scoreStage, day)
	n := cfg.Shard.N
	if n == 0 {
		ns, err := datasets.ShardCounts(root)
		if err != nil {
			return ScoreResult{}, err
		}
		switch len(ns) {
		case 0:
			return ScoreResult{}, fmt.Errorf("pipeline: no score shards in %s (run churn score --shard i/n for every i first)", root)
		case 1:
			n = ns[0]
		default:
			return ScoreResult{}, fmt.Errorf("pipeline: %s holds shards of several counts %v; say which with --shards", root, ns)
		}
	}
	// First the manifests: every shard there and current, and where each
	// part's rows go (snapshot order: parts ascending).
	var missing, stale []string
	snapshotParts, rows := "", int64(0)
	dirs, manifests := make([]string, n), make([]datasets.Manifest, n)
	partCount := map[int]int{}
	for i := range n {
		dirs[i] = datasets.ShardDir(cfg.Workdir, scoreStage, day, i, n)
		m, err := datasets.ReadManifest(dirs[i])
		switch {
		case err != nil:
			missing = append(missing, Shard{i, n}.String())
			continue
		case m.Meta["inputs_key"] != sp.key:
			stale = append(stale, Shard{i, n}.String())
			continue
		case snapshotParts != "" && m.Meta["snapshot_parts"] != snapshotParts:
			return ScoreResult{}, fmt.Errorf("pipeline: score shard %s read a snapshot of %s parts, shard 0/%d one of %s", Shard{i, n}, m.Meta["snapshot_parts"], n, snapshotParts)
		}
		snapshotParts, manifests[i] = m.Meta["snapshot_parts"], m
		counted := int64(0)
		for _, pc := range strings.Split(m.Meta["part_rows"], ",") {
			if pc == "" {
				continue
			}
			var p, c int
			if _, err := fmt.Sscanf(pc, "%d:%d", &p, &c); err != nil || p%n != i || c < 0 {
				return ScoreResult{}, fmt.Errorf("pipeline: score shard %s: bad part_rows %q", dirs[i], pc)
			}
			partCount[p] += c
			counted += int64(c)
		}
		if counted != m.Rows {
			return ScoreResult{}, fmt.Errorf("pipeline: score shard %s counts %d rows by part, its manifest %d", dirs[i], counted, m.Rows)
		}
		rows += m.Rows
	}
	if len(missing) > 0 || len(stale) > 0 {
		var why []string
		if len(missing) > 0 {
			why = append(why, "missing: "+strings.Join(missing, ", "))
		}
		if len(stale) > 0 {
			why = append(why, "scored from other inputs (models, data or config changed since; rerun them): "+strings.Join(stale, ", "))
		}
		return ScoreResult{}, fmt.Errorf("pipeline: cannot merge the %d score shards of %s: %s", n, dateString(asOf), strings.Join(why, "; "))
	}
	fr, err := currentSnapshot(ctx, cfg, asOf)
	if err != nil {
		return ScoreResult{}, err
	}
	fm, err := datasets.ReadManifest(fr.Dir)
	if err != nil {
		return ScoreResult{}, err
	}
	if rows != fm.Rows {
		return ScoreResult{}, fmt.Errorf("pipeline: the score shards hold %d customers, the snapshot %s %d", rows, fr.Dir, fm.Rows)
	}
	next, end := map[int]int{}, map[int]int{} // the position of each part's next row, and after its last
	at := 0
	for _, p := range slices.Sorted(maps.Keys(partCount)) {
		next[p], at = at, at+partCount[p]
		end[p] = at
	}
	// Then the rows, a shard at a time and a few thousand at a time,
	// straight into place: memory holds the list, not a shard's file.
	sc := &scored{l: newList(int(rows), asOf, sp.modelVersion()), inputs: make([]actionInput, rows), first: make([]int32, rows)}
	var books []*features.KPIBook
	in := interner{}
	for i := range n {
		read := int64(0)
		err := datasets.EachScored(filepath.Join(dirs[i], datasets.ScoredFile), func(got []datasets.ScoredCustomer) error {
			read += int64(len(got))
			for k := range got {
				a := &got[k]
				pos, ok := next[int(a.Part)]
				if !ok || int(a.Part)%n != i || pos >= end[int(a.Part)] {
					return fmt.Errorf("pipeline: score shard %s holds a row of part %d it does not count", dirs[i], a.Part)
				}
				next[int(a.Part)] = pos + 1
				a.Row.Reasons = in.str(a.Row.Reasons) // repeated: once each, as Score keeps them
				if err := sc.l.set(pos, &a.Row); err != nil {
					return fmt.Errorf("pipeline: score shard %s: %w", dirs[i], err)
				}
				reasons, err := reasonSetOf(a.ReasonFeatures)
				if err != nil {
					return fmt.Errorf("pipeline: score shard %s: %w", dirs[i], err)
				}
				sc.first[pos] = a.FirstOrderDay
				sub, err := sc.l.texts.code(a.Subscription)
				if err != nil {
					return fmt.Errorf("pipeline: score shard %s: %w", dirs[i], err)
				}
				sc.inputs[pos] = actionInput{subscription: sub, daysSinceComplaint: a.DaysSinceComplaint, discount: a.DiscountShare,
					overdue: a.OverdueRatio, reasons: reasons}
			}
			return nil
		})
		if err != nil {
			return ScoreResult{}, err
		}
		if read != manifests[i].Rows {
			return ScoreResult{}, fmt.Errorf("pipeline: score shard %s has %d rows, its manifest says %d", dirs[i], read, manifests[i].Rows)
		}
		b, err := os.ReadFile(filepath.Join(dirs[i], shardBooksFile))
		if err != nil {
			return ScoreResult{}, fmt.Errorf("pipeline: %w", err)
		}
		var kb []shardBook
		if err := json.Unmarshal(b, &kb); err != nil {
			return ScoreResult{}, fmt.Errorf("pipeline: score shard %s: %s: %w", dirs[i], shardBooksFile, err)
		}
		for _, k := range kb {
			if k.Bucket < 0 || k.Bucket%n != i || k.Book == nil {
				return ScoreResult{}, fmt.Errorf("pipeline: score shard %s holds the KPI book of bucket %d", dirs[i], k.Bucket)
			}
			if k.Bucket >= len(books) {
				books = append(books, make([]*features.KPIBook, k.Bucket+1-len(books))...)
			}
			books[k.Bucket] = k.Book
		}
	}
	for p, pos := range next {
		if pos != end[p] {
			return ScoreResult{}, fmt.Errorf("pipeline: the score shards hold fewer rows of part %d than they count", p)
		}
	}
	sc.l.memoDates()
	_, info, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		return ScoreResult{}, err
	}
	if len(books) != info.Buckets {
		return ScoreResult{}, fmt.Errorf("pipeline: the score shards hold the KPI books of %d buckets, the warehouse has %d", len(books), info.Buckets)
	}
	book, err := mergeBooks(books)
	if err != nil {
		return ScoreResult{}, err
	}
	res, err := publishList(ctx, cfg, asOf, sp, sc, book, start)
	if err == nil { // the list holds the shards' work now
		if rerr := os.RemoveAll(root); rerr != nil {
			cfg.Log.Warn("could not remove the score shards", "stage", "merge", "run_id", cfg.RunID, "err", rerr)
		}
	}
	return res, err
}

// featuresStage names the feature shards' folders: shards/features/cutoff=DAY/.
const featuresStage = "features"

// shardMetaKeys are the keys a shard folder's manifest adds to the
// snapshot's meta (its parts are the files the manifest lists).
var shardMetaKeys = []string{"shard"}

// writeShardParts builds the buckets of cfg.Shard for every snapshot in
// todo and commits each snapshot's parts (the builder's columns; the RFM
// scores need every customer, so the snapshot is finished by an unsharded
// features, train or score that finds them: finishedShards) to
// shards/features/cutoff=DAY/shard-III-of-NNN/. A shard folder already
// made from the same warehouse and config is kept.
func writeShardParts(ctx context.Context, cfg Config, info datasets.WarehouseInfo, todo []*snapshotPlan, todoIdx []int, out []FeaturesResult, start time.Time) error {
	var mine []int
	for b := range info.Buckets {
		if cfg.Shard.Owns(b) {
			mine = append(mine, b)
		}
	}
	var plans []*snapshotPlan
	var idx []int
	for k, pl := range todo {
		pl.res.Dir = datasets.ShardDir(cfg.Workdir, featuresStage, "cutoff="+pl.res.Cutoff, cfg.Shard.I, cfg.Shard.N)
		if m, err := datasets.ReadManifest(pl.res.Dir); err == nil && sameMeta(withoutKeys(m.Meta, shardMetaKeys), pl.meta) && !cfg.Force {
			pl.res.Customers, pl.res.Reused = m.Rows, true
			out[todoIdx[k]] = pl.res
			continue
		}
		if info.PricedRows > 0 { // the price book is every bucket's: each shard reads them all
			var err error
			if pl.fcfg.PriceIncreases, err = priceIncreases(ctx, cfg, info, pl.cutoff); err != nil {
				return err
			}
		}
		plans, idx = append(plans, pl), append(idx, todoIdx[k])
	}
	if len(plans) == 0 {
		return nil
	}
	fcfgs := make([]features.Config, len(plans))
	folders := make([]*datasets.PendingFolder, len(plans))
	defer func() {
		for _, pf := range folders {
			if pf != nil {
				pf.Abort() // a no-op once committed
			}
		}
	}()
	for k, pl := range plans {
		fcfgs[k] = pl.fcfg
		var err error
		if folders[k], err = datasets.BeginFolder(pl.res.Dir); err != nil {
			return err
		}
	}
	rows := make([][]int64, len(plans))
	for k := range rows {
		rows[k] = make([]int64, len(mine))
	}
	est := &rowEstimate{}
	err := forEachBucket(ctx, cfg, "features", len(mine), func(j int) error {
		b := mine[j]
		recs, err := bucketFeatures(ctx, cfg.Workdir, b, fcfgs, nil, false, est)
		defer func() {
			for _, rec := range recs {
				rec.Release()
			}
		}()
		if err != nil {
			return err
		}
		for k, rec := range recs {
			if err := datasets.WriteRecordParquet(filepath.Join(folders[k].Dir(), fmt.Sprintf("part-%03d.parquet", b)), rec); err != nil {
				return err
			}
			rows[k][j] = rec.NumRows()
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k, pl := range plans {
		meta := maps.Clone(pl.meta)
		meta["shard"] = cfg.Shard.String()
		pl.res.Customers = 0
		for _, n := range rows[k] {
			pl.res.Customers += n
		}
		if err := folders[k].Commit(datasets.Manifest{Kind: "features-shard", Rows: pl.res.Customers, Meta: meta}); err != nil {
			return err
		}
		out[idx[k]] = pl.res
		cfg.logStage("features", pl.res.Customers, start, "cutoff", pl.res.Cutoff, "shard", cfg.Shard.String(), "dir", pl.res.Dir)
	}
	return nil
}

// finishedShards returns the part files, by bucket, of the feature shards
// of pl's cutoff when every shard of one count is committed from the same
// warehouse and config as pl and together they hold every bucket; nil
// otherwise (the snapshot is then built from the warehouse).
func finishedShards(cfg Config, pl *snapshotPlan, buckets int) ([]string, error) {
	day := "cutoff=" + pl.res.Cutoff
	ns, err := datasets.ShardCounts(datasets.ShardsRoot(cfg.Workdir, featuresStage, day))
	if err != nil {
		return nil, err
	}
next:
	for _, n := range slices.Backward(ns) {
		byBucket := make([]string, buckets)
		for i := range n {
			dir := datasets.ShardDir(cfg.Workdir, featuresStage, day, i, n)
			parts, m, err := datasets.SnapshotParts(dir)
			if err != nil || !sameMeta(withoutKeys(m.Meta, shardMetaKeys), pl.meta) {
				continue next
			}
			for _, p := range parts {
				b := datasets.PartNumber(p)
				if b < 0 || b >= buckets || b%n != i || byBucket[b] != "" {
					continue next
				}
				byBucket[b] = p
			}
		}
		if !slices.Contains(byBucket, "") {
			cfg.Log.Debug("snapshot finished from shards", "stage", "features", "run_id", cfg.RunID, "cutoff", pl.res.Cutoff, "shards", n)
			return byBucket, nil
		}
	}
	return nil, nil
}

// withoutKeys returns m without keys (a copy).
func withoutKeys(m map[string]string, keys []string) map[string]string {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

var (
	keyShardFolder = regexp.MustCompile(`^shards/[^/]+/[^/]+/shard-(\d+)-of-(\d+)/`)
	keyBucket      = regexp.MustCompile(`^warehouse/[^/]+/bucket=(\d+)/`)
	keyPart        = regexp.MustCompile(`^features/[^/]+/part-(\d+)\.parquet$`)
)

// ShardKeep says which files of a work directory in object storage the
// commands of shard sh read, for datasets.Remote.Pull (nil: every file):
// its own buckets of the warehouse (every bucket of the transactions when
// the warehouse has list prices: the price book is every bucket's) and of
// the snapshots, its own shard folders, and no list's rows (their
// manifests, which are always fetched, tell what exists). local is the
// copy, whose manifests Pull fetches before asking.
func ShardKeep(sh Shard, local string) func(key string) bool {
	if !sh.Sharded() {
		return nil
	}
	priced := sync.OnceValue(func() bool {
		info, err := datasets.OpenWarehouse(local)
		return err != nil || info.PricedRows > 0 // unknown: fetch them all
	})
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	return func(key string) bool {
		if m := keyShardFolder.FindStringSubmatch(key); m != nil {
			return num(m[1]) == sh.I && num(m[2]) == sh.N
		}
		if m := keyBucket.FindStringSubmatch(key); m != nil {
			return sh.Owns(num(m[1])) || strings.HasPrefix(key, datasets.WarehouseDir+"/") && priced()
		}
		if m := keyPart.FindStringSubmatch(key); m != nil {
			return sh.Owns(num(m[1]))
		}
		return !strings.HasPrefix(key, datasets.ListsDir+"/")
	}
}

// MergeKeep says which files of a work directory in object storage
// `churn merge` reads, for datasets.Remote.Pull: not the warehouse's rows
// nor the snapshots' parts (the score shards carry the customers' rows and
// the KPI books; manifests are always fetched), nor other stages' shards.
func MergeKeep() func(key string) bool {
	return func(key string) bool {
		if m := keyShardFolder.FindStringSubmatch(key); m != nil {
			return strings.HasPrefix(key, datasets.ShardsDir+"/"+scoreStage+"/")
		}
		return keyBucket.FindStringSubmatch(key) == nil && keyPart.FindStringSubmatch(key) == nil
	}
}
