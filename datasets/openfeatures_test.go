package datasets

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// OpenFeatures streams a snapshot part by part: every row comes back, in
// part order, and nothing leaks whether the reader is drained or dropped.
func TestOpenFeatures(t *testing.T) {
	work := t.TempDir()
	cutoff := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	schema := arrow.NewSchema([]arrow.Field{{Name: "customer_id", Type: arrow.BinaryTypes.String}, {Name: "orders", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var parts []arrow.RecordBatch
	want := []string{}
	for p := range 3 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := range p + 2 {
			id := string(rune('a'+p)) + strings.Repeat("x", i)
			b.Field(0).(*array.StringBuilder).Append(id)
			b.Field(1).(*array.Int64Builder).Append(int64(10*p + i))
			want = append(want, id)
		}
		parts = append(parts, b.NewRecordBatch())
		b.Release()
	}
	if err := WriteSnapshot(SnapshotDir(work, "2025-06-30"), parts, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range parts {
		r.Release()
	}
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)

	rdr, err := OpenFeatures(context.Background(), work, cutoff, mem)
	if err != nil {
		t.Fatal(err)
	}
	if f := rdr.Schema().Fields(); len(f) != 2 || f[0].Name != "customer_id" || f[1].Name != "orders" || !arrow.TypeEqual(f[1].Type, arrow.PrimitiveTypes.Int64) {
		t.Errorf("schema %v", rdr.Schema())
	}
	var got []string
	batches := 0
	for rdr.Next() {
		batches++
		ids := rdr.RecordBatch().Column(0).(*array.String)
		for i := range ids.Len() {
			got = append(got, ids.Value(i))
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	rdr.Release()
	if strings.Join(got, ",") != strings.Join(want, ",") || batches < 3 {
		t.Errorf("read %v in %d batches, want %v", got, batches, want)
	}

	// Dropped after the first batch: the parts read ahead are released.
	rdr, err = OpenFeatures(context.Background(), work, cutoff, mem)
	if err != nil {
		t.Fatal(err)
	}
	if !rdr.Next() {
		t.Fatal("no first batch")
	}
	rdr.Release()

	if _, err := OpenFeatures(context.Background(), work, cutoff.AddDate(0, 0, 1), mem); err == nil || !strings.Contains(err.Error(), "run churn features --cutoff 2025-07-01") {
		t.Errorf("missing snapshot: %v", err)
	}
}
