package pipeline

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/churn-dev/churn/datasets"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/4", Shard{0, 4}, true}, {"3/4", Shard{3, 4}, true}, {" 1 / 2 ", Shard{1, 2}, true}, {"0/1", Shard{0, 1}, true},
		{"4/4", Shard{}, false}, {"-1/4", Shard{}, false}, {"1/0", Shard{}, false}, {"1", Shard{}, false}, {"a/b", Shard{}, false},
		{"0/1025", Shard{}, false},
	} {
		got, err := ParseShard(c.in)
		if (err == nil) != c.ok || c.ok && got != c.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
	if s := (Shard{1, 4}); !s.Owns(5) || s.Owns(4) || !(Shard{}).Owns(7) {
		t.Error("Owns: bucket b belongs to shard b mod n; an unsharded run owns every bucket")
	}
}

// chainAndWarehouse runs the chain in one work directory and returns it
// with a second one holding a copy of its warehouse only.
func chainAndWarehouse(t *testing.T) (whole, work string) {
	t.Helper()
	res := runChain(t, t.TempDir())
	whole, work = filepath.Dir(filepath.Dir(res.Score.Dir)), t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "warehouse"), os.DirFS(filepath.Join(whole, "warehouse"))); err != nil {
		t.Fatal(err)
	}
	return whole, work
}

// copyWork copies a work directory without its lists: what shards on other
// machines would see of a shared one.
func copyWork(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	for _, d := range []string{"warehouse", datasets.FeaturesDir, datasets.ModelsDir} {
		if err := os.CopyFS(filepath.Join(to, d), os.DirFS(filepath.Join(from, d))); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestScoreShardsMerge: the shards of `churn score --shard i/n` merged by
// `churn merge` give the list `churn score` publishes, byte for byte, for
// shard counts that do not divide the bucket count and that exceed it,
// and with --force, which redoes the shards and the merge but not the
// snapshot they read.
func TestScoreShardsMerge(t *testing.T) {
	ctx := context.Background()
	whole := runChain(t, t.TempDir()) // 4 buckets
	for _, n := range []int{3, 5} {
		work := copyWork(t, filepath.Dir(filepath.Dir(whole.Score.Dir)))
		cfg := Config{Workdir: work, Buckets: 4, Force: n == 5}
		total := 0
		for i := range n {
			cfg.Shard = Shard{i, n}
			res, err := Score(ctx, cfg, asOf)
			if err != nil {
				t.Fatalf("shard %d/%d: %v", i, n, err)
			}
			if i == 4 && res.Customers != 0 {
				t.Errorf("shard 4/5 of 4 buckets scored %d customers, want none", res.Customers)
			}
			total += res.Customers
			if i == 0 { // a merge before every shard is done names the missing ones
				cfg.Shard = Shard{}
				_, err := Merge(ctx, cfg, asOf)
				if err == nil || !strings.Contains(err.Error(), "missing: 1/") {
					t.Errorf("merge with shards missing: err = %v, want it to name shard 1/%d", err, n)
				}
			}
		}
		if total != whole.Score.Customers {
			t.Errorf("%d shards scored %d customers, the list has %d", n, total, whole.Score.Customers)
		}
		// Other settings than the shards': every shard is stale.
		stale := Config{Workdir: work, Buckets: 4, Lang: "zh"}
		if _, err := Merge(ctx, stale, asOf); err == nil || !strings.Contains(err.Error(), "scored from other inputs") {
			t.Errorf("merge with other settings: err = %v, want the shards called stale", err)
		}
		cfg.Shard = Shard{}
		res, err := Merge(ctx, cfg, asOf)
		if err != nil {
			t.Fatal(err)
		}
		if res.Customers != whole.Score.Customers || res.Top[0] != whole.Score.Top[0] {
			t.Errorf("merged list: %d customers, top %+v; want %d, %+v", res.Customers, res.Top[0], whole.Score.Customers, whole.Score.Top[0])
		}
		for _, name := range []string{datasets.RetentionListCSV, datasets.ScoresParquet, datasets.ReportHTML, datasets.KPIsCSV, datasets.CohortsCSV, MoversCSV, datasets.ManifestName} {
			x, err1 := os.ReadFile(filepath.Join(whole.Score.Dir, name))
			y, err2 := os.ReadFile(filepath.Join(res.Dir, name))
			if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
				t.Errorf("%d shards: merged %s differs from the unsharded one (%v, %v)", n, name, err1, err2)
			}
		}
		// A second merge finds the list up to date.
		cfg.Force = false
		if again, err := Merge(ctx, cfg, asOf); err != nil || !again.Reused {
			t.Errorf("merge again: reused = %v, err = %v", again.Reused, err)
		}
	}
}

// TestScoreShardNeedsSnapshot: a shard does not build the snapshot (shards
// running at once would each build it); it says how to.
func TestScoreShardNeedsSnapshot(t *testing.T) {
	whole := runChain(t, t.TempDir())
	work := copyWork(t, filepath.Dir(filepath.Dir(whole.Score.Dir)))
	if err := os.RemoveAll(filepath.Join(work, datasets.FeaturesDir)); err != nil {
		t.Fatal(err)
	}
	_, err := Score(context.Background(), Config{Workdir: work, Buckets: 4, Shard: Shard{1, 2}}, asOf)
	if err == nil || !strings.Contains(err.Error(), "churn features --workdir") {
		t.Fatalf("err = %v, want a pointer to churn features", err)
	}
	if _, err := os.Stat(datasets.SnapshotDir(work, dateString(asOf))); !os.IsNotExist(err) {
		t.Errorf("a shard built the snapshot (stat: %v)", err)
	}
}

// TestTrainShards: the shards of `churn train --shard i/n` build their
// buckets' parts of every snapshot the training reads; the unsharded
// training then finishes the snapshots from those parts (not from the
// warehouse) and gives the snapshots and models of a training without
// shards, byte for byte; score shards and merge then give its list.
func TestTrainShards(t *testing.T) {
	ctx := context.Background()
	wholeWork, work := chainAndWarehouse(t)
	cfg := Config{Workdir: work, Buckets: 4}
	for i := range 3 {
		cfg.Shard = Shard{i, 3}
		res, err := Train(ctx, cfg, asOf)
		if err != nil {
			t.Fatalf("shard %d/3: %v", i, err)
		}
		if len(res.ShardSnapshots) < 3 || res.ChurnVersion != "" {
			t.Fatalf("shard %d/3: %d shard snapshots, model %q; want the parts of every training snapshot and no model", i, len(res.ShardSnapshots), res.ChurnVersion)
		}
	}
	if _, err := os.Stat(filepath.Join(work, datasets.FeaturesDir)); !os.IsNotExist(err) {
		t.Errorf("train shards wrote snapshots (stat: %v)", err)
	}
	var log bytes.Buffer
	cfg.Shard, cfg.Log = Shard{}, slog.New(slog.NewTextHandler(&log, nil))
	if _, err := Train(ctx, cfg, asOf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "from_shards=true"); n < 3 {
		t.Errorf("train finished %d snapshots from the shards' parts, want every one:\n%s", n, log.String())
	}
	if left, _ := os.ReadDir(filepath.Join(work, datasets.ShardsDir, featuresStage)); len(left) != 0 {
		t.Errorf("feature shards left after the snapshots were finished: %v", left)
	}
	for i := range 3 {
		cfg.Shard = Shard{i, 3}
		if _, err := Score(ctx, cfg, asOf); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Shard = Shard{}
	if _, err := Merge(ctx, cfg, asOf); err != nil {
		t.Fatal(err)
	}
	if Latest(work) != "" {
		t.Error("merge moved lists/LATEST; only Publish should")
	}
	if _, err := os.Stat(datasets.ShardsRoot(work, scoreStage, "as-of="+dateString(asOf))); !os.IsNotExist(err) {
		t.Errorf("score shards left after the merge (stat: %v)", err)
	}
	if _, err := Publish(ctx, cfg, asOf); err != nil {
		t.Fatal(err)
	}
	if got, want := Latest(work), Latest(wholeWork); got != want || got == "" {
		t.Errorf("after Publish lists/LATEST names %q, the run's %q", got, want)
	}
	compared := 0
	for _, dir := range []string{datasets.FeaturesDir, datasets.ModelsDir, datasets.ListsDir} {
		err := filepath.WalkDir(filepath.Join(wholeWork, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(wholeWork, path)
			x, _ := os.ReadFile(path)
			y, err := os.ReadFile(filepath.Join(work, rel))
			if err != nil || !bytes.Equal(x, y) {
				t.Errorf("%s differs from the unsharded run's (%v)", rel, err)
			}
			compared++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if compared < 20 {
		t.Errorf("compared only %d files", compared)
	}
}

// TestFeatureShardsIncomplete: a snapshot is finished from shards only
// when every shard of one count is there and made from the same warehouse
// and config; otherwise it is built from the warehouse.
func TestFeatureShardsIncomplete(t *testing.T) {
	ctx := context.Background()
	wholeWork, work := chainAndWarehouse(t)
	cut := asOf.AddDate(0, 0, -30)
	cfg := Config{Workdir: work, Buckets: 4, Shard: Shard{0, 2}}
	if _, err := Features(ctx, cfg, cut); err != nil { // shard 1/2 never runs
		t.Fatal(err)
	}
	cfg.Shard, cfg.Horizon = Shard{1, 2}, 60 // another config: not the same snapshot
	if _, err := Features(ctx, cfg, cut); err != nil {
		t.Fatal(err)
	}
	cfg.Shard, cfg.Horizon = Shard{}, 0
	if got, err := finishedShards(cfg.WithDefaults(), planFor(t, cfg, cut), 4); err != nil || got != nil {
		t.Fatalf("finishedShards = %v, %v; want none (shard 1/2 is of another horizon)", got, err)
	}
	res, err := Features(ctx, cfg, cut)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Features(ctx, Config{Workdir: wholeWork, Buckets: 4}, cut)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(ref.Dir, datasets.ManifestName))
	b, _ := os.ReadFile(filepath.Join(res.Dir, datasets.ManifestName))
	if !bytes.Equal(a, b) {
		t.Error("the snapshot built beside incomplete shards differs from one built without them")
	}
	// With the right shard 1/2 it is finished from the shards' parts, not
	// from the warehouse: a bucket's transactions can go.
	if err := os.RemoveAll(res.Dir); err != nil {
		t.Fatal(err)
	}
	cfg.Shard = Shard{1, 2}
	if _, err := Features(ctx, cfg, cut); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(datasets.WarehouseBucketPath(work, 2)); err != nil {
		t.Fatal(err)
	}
	cfg.Shard = Shard{}
	if got, err := finishedShards(cfg.WithDefaults(), planFor(t, cfg, cut), 4); err != nil || len(got) != 4 {
		t.Fatalf("finishedShards = %v, %v; want the 4 parts of shards 0/2 and 1/2", got, err)
	}
	if res, err = Features(ctx, cfg, cut); err != nil {
		t.Fatal(err)
	}
	if b, _ = os.ReadFile(filepath.Join(res.Dir, datasets.ManifestName)); !bytes.Equal(a, b) {
		t.Error("the snapshot finished from shards differs from one built without them")
	}
}

// planFor is the plan snapshots makes for cut under cfg.
func planFor(t *testing.T, cfg Config, cut time.Time) *snapshotPlan {
	t.Helper()
	cfg = cfg.WithDefaults()
	wv, info, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		t.Fatal(err)
	}
	last := dayOf(info.MaxTS)
	if cut.After(last) {
		last = cut
	}
	return newSnapshotPlan(cfg, cut, wv, last)
}

// Any --shard text either parses to a shard i/n with 0 ≤ i < n ≤
// MaxShards (or none) or is refused.
func FuzzParseShard(f *testing.F) {
	for _, seed := range []string{"0/4", "3/4", "4/4", "-1/2", "0/0", "1/1025", " 2 / 8 ", "a/b", "0/1", "9223372036854775807/9223372036854775807"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err == nil && sh != (Shard{}) && (sh.N < 1 || sh.N > MaxShards || sh.I < 0 || sh.I >= sh.N) {
			t.Fatalf("ParseShard(%q) = %+v", s, sh)
		}
	})
}
