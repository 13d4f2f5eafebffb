package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/churn-dev/churn/datasets"
)

// readTree returns every file under root by its path relative to root.
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIngestShards: shards of `churn ingest --shard i/n` each keep their
// buckets of every table, and the unsharded ingest of the same inputs
// assembles from them the warehouse, quarantine and ingest log an
// unsharded ingest writes, byte for byte — also when the shards read the
// exports under other paths, and when merging into a stored warehouse.
func TestIngestShards(t *testing.T) {
	shop := shopDir(t)
	// A copy with a few bad rows (quarantined, under the bound), read by
	// the shards from one folder and by the assembling ingest from another.
	tx, err := os.ReadFile(filepath.Join(shop, "transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	header := string(tx[:bytes.IndexByte(tx, '\n')+1])
	lines := strings.Count(header, ",") // columns - 1
	bad := strings.Repeat("c1,O1,2025-01-01T00:00:00Z,ten"+strings.Repeat(",", lines-3)+"\n", 3)
	day2 := header + "00000001,O-new-1,2025-12-30T10:00:00Z,12.50" + strings.Repeat(",", lines-3) + "\n"
	src, other := t.TempDir(), t.TempDir()
	for _, dir := range []string{src, other} {
		os.WriteFile(filepath.Join(dir, "tx.csv"), append(bytes.Clone(tx), bad...), 0o644)
		os.WriteFile(filepath.Join(dir, "day2.csv"), []byte(day2), 0o644)
		for _, name := range []string{"feedback.csv", "customers.csv"} {
			b, err := os.ReadFile(filepath.Join(shop, name))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
	}
	input := func(dir, file string) IngestInput {
		in := IngestInput{Transactions: filepath.Join(dir, file), Now: asOf.AddDate(0, 0, 1), MaxBadFraction: 0.01}
		if file == "tx.csv" {
			in.Feedback, in.Customers = filepath.Join(dir, "feedback.csv"), filepath.Join(dir, "customers.csv")
		}
		return in
	}
	// Bucket counts of the first ingest and of the second, and shards: a
	// count set by hand; automatic counts, kept by shards while reading
	// (two shards) or decided before (three); a second ingest of another
	// count, which rebuckets the customers and feedback tables too.
	for _, c := range []struct{ first, second, shards int }{{4, 4, 3}, {0, 0, 2}, {0, 0, 3}, {4, 8, 2}} {
		t.Run(fmt.Sprintf("buckets %d then %d, %d shards", c.first, c.second, c.shards), func(t *testing.T) {
			ingestShards(t, input, other, src, c.first, c.second, c.shards)
		})
	}
}

func ingestShards(t *testing.T, input func(dir, file string) IngestInput, other, src string, first, second, shards int) {
	ctx := context.Background()
	whole, sharded := t.TempDir(), t.TempDir()
	for _, file := range []string{"tx.csv", "day2.csv"} { // a first ingest, then one that merges into it
		buckets := first
		if file == "day2.csv" {
			buckets = second
		}
		res, err := Ingest(ctx, Config{Workdir: whole, Buckets: buckets}, input(other, file))
		if err != nil {
			t.Fatal(err)
		}
		if file == "tx.csv" && res.Quarantined != 3 {
			t.Fatalf("quarantined %d rows, want 3", res.Quarantined)
		}
		for i := range shards {
			if _, err := Ingest(ctx, Config{Workdir: sharded, Buckets: buckets, Shard: Shard{i, shards}}, input(src, file)); err != nil {
				t.Fatalf("shard %d/%d of %s: %v", i, shards, file, err)
			}
		}
		if _, err := os.Stat(filepath.Join(sharded, "warehouse")); file == "tx.csv" && !os.IsNotExist(err) {
			t.Errorf("ingest shards wrote the warehouse (stat: %v)", err)
		}
		res2, err := Ingest(ctx, Config{Workdir: sharded, Buckets: buckets}, input(other, file))
		if err != nil {
			t.Fatal(err)
		}
		if res2.Read != res.Read || res2.Loaded != res.Loaded || res2.Duplicates != res.Duplicates || res2.Quarantined != res.Quarantined ||
			res2.Rows != res.Rows || res2.Customers != res.Customers || res2.FeedbackRows != res.FeedbackRows || res2.CustomerRows != res.CustomerRows || !reflect.DeepEqual(res2.Lines, res.Lines) {
			t.Errorf("%s: assembled result %+v\nunsharded %+v", file, res2, res)
		}
		a, b := readTree(t, filepath.Join(whole, "warehouse")), readTree(t, filepath.Join(sharded, "warehouse"))
		if len(a) < 10 || len(a) != len(b) {
			t.Fatalf("%s: %d files in the warehouse, %d assembled", file, len(a), len(b))
		}
		for name, x := range a {
			if !bytes.Equal(x, b[name]) {
				t.Errorf("%s: warehouse/%s differs from the unsharded ingest's", file, name)
			}
		}
		// Every table has the warehouse's bucket count.
		info, err := datasets.OpenWarehouse(whole)
		if err != nil {
			t.Fatal(err)
		}
		if want := cmp.Or(buckets, datasets.DefaultBuckets); info.Buckets != want {
			t.Errorf("%s: %d buckets, want %d", file, info.Buckets, want)
		}
		for _, dir := range []string{datasets.CustomersDir, datasets.FeedbackDir} {
			m, err := datasets.ReadManifest(filepath.Join(whole, dir))
			if err != nil || m.Meta["buckets"] != strconv.Itoa(info.Buckets) {
				t.Errorf("%s: %s of %s buckets in a warehouse of %d (%v)", file, dir, m.Meta["buckets"], info.Buckets, err)
			}
		}
		if _, err := os.Stat(datasets.ShardsRoot(sharded, ingestStage, res.ID)); !os.IsNotExist(err) {
			t.Errorf("%s: the ingest shards were kept after assembling (stat: %v)", file, err)
		}
	}
}

// TestIngestShardsIncomplete: without every shard, the unsharded ingest
// reads the inputs itself; a rerun shard does nothing.
func TestIngestShardsIncomplete(t *testing.T) {
	ctx := context.Background()
	shop := shopDir(t)
	in := IngestInput{Transactions: filepath.Join(shop, "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}
	whole, work := t.TempDir(), t.TempDir()
	ref, err := Ingest(ctx, Config{Workdir: whole, Buckets: 4}, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Ingest(ctx, Config{Workdir: work, Buckets: 4, Shard: Shard{0, 2}}, in); err != nil {
		t.Fatal(err)
	}
	again, err := Ingest(ctx, Config{Workdir: work, Buckets: 4, Shard: Shard{0, 2}}, in)
	if err != nil || !again.NoOp {
		t.Errorf("rerun shard: no-op %v, %v", again.NoOp, err)
	}
	res, err := Ingest(ctx, Config{Workdir: work, Buckets: 4}, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != ref.Rows {
		t.Errorf("ingest beside an incomplete shard set: %d rows, want %d", res.Rows, ref.Rows)
	}
	a, _ := os.ReadFile(filepath.Join(whole, datasets.WarehouseDir, datasets.ManifestName))
	b, _ := os.ReadFile(filepath.Join(work, datasets.WarehouseDir, datasets.ManifestName))
	if !bytes.Equal(a, b) {
		t.Error("the warehouse beside an incomplete shard set differs from an unsharded ingest's")
	}
}

// TestWriterBuckets: the bucket count the warehouse writer is made with.
// An automatic count (0) is decided after reading; a shard keeps its
// buckets while reading, so its count stays automatic only when the
// shard count divides every count that can be decided.
func TestWriterBuckets(t *testing.T) {
	stored := func(n int) string {
		work := t.TempDir()
		if n == 0 {
			return work
		}
		w, err := datasets.NewWarehouseWriter(work, n)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Add(datasets.Transaction{CustomerID: "a", TS: 1}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.Commit(context.Background(), work, nil); err != nil {
			t.Fatal(err)
		}
		return work
	}
	for _, c := range []struct {
		buckets, stored, shards int
		replace                 bool
		want                    int
	}{
		{8, 0, 0, false, 8}, // set by hand
		{8, 4, 2, false, 8},
		{0, 0, 0, false, 0}, // automatic
		{0, 64, 0, false, 0},
		{0, 0, 2, false, 0}, // two shards divide every automatic count
		{0, 0, 16, false, 0},
		{0, 0, 3, false, 16},  // three do not: DefaultBuckets, decided before reading
		{0, 0, 32, false, 16}, // nor do 32
		{0, 4, 2, false, 0},   // a stored 4 grows by doubling: two shards divide it
		{0, 4, 8, false, 4},   // eight do not
		{0, 20, 2, false, 20}, // a stored count that cannot grow stays
		{0, 20, 2, true, 0},   // unless replaced
	} {
		cfg := Config{Workdir: stored(c.stored), Buckets: c.buckets}
		if c.shards > 0 {
			cfg.Shard = Shard{0, c.shards}
		}
		if got := writerBuckets(cfg, c.replace); got != c.want {
			t.Errorf("buckets %d, stored %d, %d shards, replace %v: %d, want %d", c.buckets, c.stored, c.shards, c.replace, got, c.want)
		}
	}
}
