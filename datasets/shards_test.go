package datasets

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestScoredRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rows := []ScoredCustomer{
		{Part: 3, FirstOrderDay: 19000, Subscription: "active", DaysSinceComplaint: 12, DiscountShare: 0.25, OverdueRatio: math.NaN(),
			ReasonFeatures: []string{"recency_days", "orders_90d"},
			Row: ScoreRow{CustomerID: "c1", ChurnProbability: 0.4321, RiskTier: "medium", PAlive: 0.9, ExpectedOrders: 1.234, PredictedCLV: 12.34,
				ValueAtRisk: 5.33, Segment: "Loyal", RFM: "545", LoyaltyTier: "gold", SatisfactionClass: "promoter", Reasons: "a; b",
				Control: true, LastOrderDate: "2025-11-02", ExpectedNextOrderDate: "2026-01-10", ModelVersion: "v1+v2", ScoredAt: "2025-12-31"}},
		{Part: 7, FirstOrderDay: -3, DaysSinceComplaint: math.NaN(), DiscountShare: math.NaN(), OverdueRatio: 1.5,
			Row: ScoreRow{CustomerID: "客户2", ChurnProbability: 1, RiskTier: "high"}},
	}
	path := filepath.Join(dir, ScoredFile)
	if err := WriteScored(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadScored(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, got, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Read a few thousand at a time, keeping what each chunk brings (as
	// merge does), a long file gives back its rows.
	long := make([]ScoredCustomer, 3*4096+5)
	for i := range long {
		long[i] = rows[i%2]
		long[i].Part, long[i].Row.CustomerID = int32(i), fmt.Sprint("c", i)
		long[i].ReasonFeatures = slices.Clone(long[i].ReasonFeatures)
	}
	if err := WriteScored(path, long); err != nil {
		t.Fatal(err)
	}
	var kept []ScoredCustomer
	chunks := 0
	if err := EachScored(path, func(got []ScoredCustomer) error {
		chunks++
		for _, c := range got {
			c.ReasonFeatures = slices.Clone(c.ReasonFeatures) // the reader may reuse the rows' slices
			kept = append(kept, c)
		}
		return nil
	}); err != nil || chunks < 4 {
		t.Fatalf("%d chunks, %v", chunks, err)
	}
	if diff := cmp.Diff(long, kept, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("by chunks (-want +got):\n%s", diff)
	}
	// A shard with no buckets writes an empty file that reads back empty.
	empty := filepath.Join(dir, "empty.parquet")
	if err := WriteScored(empty, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadScored(empty); err != nil || len(got) != 0 {
		t.Errorf("empty shard: %d rows, %v", len(got), err)
	}
}

func TestShardCounts(t *testing.T) {
	w := t.TempDir()
	root := ShardsRoot(w, "score", "as-of=2025-12-31")
	if ns, err := ShardCounts(root); err != nil || len(ns) != 0 {
		t.Fatalf("no folder: %v, %v", ns, err)
	}
	for _, d := range []struct{ i, n int }{{0, 4}, {3, 4}, {1, 2}} {
		if err := CommitFolder(ShardDir(w, "score", "as-of=2025-12-31", d.i, d.n), func(string) (Manifest, error) { return Manifest{Kind: "x"}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Neither an uncommitted folder nor a stray name counts.
	os.MkdirAll(ShardDir(w, "score", "as-of=2025-12-31", 0, 8), DirMode)
	os.MkdirAll(filepath.Join(root, "notes"), DirMode)
	if ns, err := ShardCounts(root); err != nil || !slices.Equal(ns, []int{2, 4}) {
		t.Errorf("ShardCounts = %v, %v; want [2 4]", ns, err)
	}
	if got := filepath.Base(ShardDir(w, "score", "d", 2, 16)); got != "shard-002-of-016" {
		t.Errorf("ShardDir base = %s", got)
	}
}

func TestPartNumber(t *testing.T) {
	for in, want := range map[string]int{"/x/part-000.parquet": 0, "part-017.parquet": 17, "part-1234.parquet": 1234, "scores.parquet": -1} {
		if got := PartNumber(in); got != want {
			t.Errorf("PartNumber(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestReadParquetRecordRewrite: a batch read back whole and written again
// gives the file's bytes, also for a column of empty strings only and for
// a file of no rows.
func TestReadParquetRecordRewrite(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	for _, n := range []int{0, 3} {
		b := array.NewRecordBuilder(mem, schema)
		for i := range n {
			b.Field(0).(*array.StringBuilder).Append(string(rune('a' + i)))
			b.Field(1).(*array.StringBuilder).Append("")
			b.Field(2).(*array.Float64Builder).AppendNull()
		}
		rec := b.NewRecordBatch()
		b.Release()
		dir := t.TempDir()
		first, second := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
		if err := WriteRecordParquet(first, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		back, err := ReadParquetRecord(context.Background(), first, mem)
		if err != nil {
			t.Fatal(err)
		}
		if back.NumRows() != int64(n) || back.NumCols() != 3 {
			t.Errorf("%d rows: read %d rows, %d columns", n, back.NumRows(), back.NumCols())
		}
		again := array.NewRecordBatch(schema, back.Columns(), back.NumRows()) // without the file's field ids
		err = WriteRecordParquet(second, again)
		again.Release()
		back.Release()
		if err != nil {
			t.Fatal(err)
		}
		x, _ := os.ReadFile(first)
		y, _ := os.ReadFile(second)
		if !bytes.Equal(x, y) {
			t.Errorf("%d rows: the rewritten file differs (%d vs %d bytes)", n, len(x), len(y))
		}
	}
}
