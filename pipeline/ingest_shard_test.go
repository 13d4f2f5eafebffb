package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
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
	ctx := context.Background()
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
	whole, sharded := t.TempDir(), t.TempDir()
	for _, file := range []string{"tx.csv", "day2.csv"} { // a first ingest, then one that merges into it
		res, err := Ingest(ctx, Config{Workdir: whole, Buckets: 4}, input(other, file))
		if err != nil {
			t.Fatal(err)
		}
		if file == "tx.csv" && res.Quarantined != 3 {
			t.Fatalf("quarantined %d rows, want 3", res.Quarantined)
		}
		for i := range 3 {
			if _, err := Ingest(ctx, Config{Workdir: sharded, Buckets: 4, Shard: Shard{i, 3}}, input(src, file)); err != nil {
				t.Fatalf("shard %d/3 of %s: %v", i, file, err)
			}
		}
		if _, err := os.Stat(filepath.Join(sharded, "warehouse")); file == "tx.csv" && !os.IsNotExist(err) {
			t.Errorf("ingest shards wrote the warehouse (stat: %v)", err)
		}
		res2, err := Ingest(ctx, Config{Workdir: sharded, Buckets: 4}, input(other, file))
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
