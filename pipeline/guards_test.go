package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// The guards' column scan reads what the Arrow path reads: every model
// column and the order counts of a snapshot of four parts, bit for bit,
// nulls as NaN, doubles and int64s alike; a column the snapshot lacks is
// an error.
func TestSnapshotFloatsMatchArrow(t *testing.T) {
	work := t.TempDir()
	runChain(t, work)
	dir := datasets.SnapshotDir(work, dateString(asOf))
	names := append(slices.Clone(features.ModelColumns), features.Orders30d, features.Orders90d)
	got, err := snapshotFloats(context.Background(), dir, names...)
	if err != nil {
		t.Fatal(err)
	}
	var nulls, ints int
	for j, name := range names {
		rec, err := readSnapshot(context.Background(), dir, memory.DefaultAllocator, name)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Column(0).DataType().ID() == arrow.INT64 {
			ints++
		}
		want, err := features.Float64s(rec, name)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		if len(got[j]) != len(want) || len(want) != 4000 {
			t.Fatalf("%s: %d values, Arrow %d", name, len(got[j]), len(want))
		}
		for i := range want {
			if math.Float64bits(got[j][i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[j][i]) && math.IsNaN(want[i])) {
				t.Fatalf("%s row %d: %v, Arrow %v", name, i, got[j][i], want[i])
			}
			if math.IsNaN(want[i]) {
				nulls++
			}
		}
	}
	if nulls == 0 || ints == 0 {
		t.Fatalf("the snapshot should have nulls (%d) and int64 columns (%d)", nulls, ints)
	}
	if _, err := snapshotFloats(context.Background(), dir, features.Orders30d, "no_such_column"); err == nil {
		t.Fatal("a column the snapshot lacks: no error")
	}
}

// Nullable int64 and double columns over parts, the way snapshotFloats
// reads them: in part order, a null NaN.
func TestSnapshotFloatsNulls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cutoff=2025-12-31")
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	var parts []arrow.RecordBatch
	want := [2][]float64{}
	for p := range 3 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := range 5 + p {
			v := int64(100*p + i)
			if i%3 == 1 {
				b.Field(0).(*array.Int64Builder).AppendNull()
				want[0] = append(want[0], math.NaN())
			} else {
				b.Field(0).(*array.Int64Builder).Append(v)
				want[0] = append(want[0], float64(v))
			}
			if i%4 == 2 {
				b.Field(1).(*array.Float64Builder).AppendNull()
				want[1] = append(want[1], math.NaN())
			} else {
				b.Field(1).(*array.Float64Builder).Append(float64(v) / 8)
				want[1] = append(want[1], float64(v)/8)
			}
		}
		parts = append(parts, b.NewRecordBatch())
		b.Release()
	}
	if err := datasets.WriteSnapshot(dir, parts, nil); err != nil {
		t.Fatal(err)
	}
	got, err := snapshotFloats(context.Background(), dir, "n", "x")
	if err != nil {
		t.Fatal(err)
	}
	for j := range want {
		if len(got[j]) != len(want[j]) {
			t.Fatalf("column %d: %v, want %v", j, got[j], want[j])
		}
		for i := range want[j] {
			if got[j][i] != want[j][i] && !(math.IsNaN(got[j][i]) && math.IsNaN(want[j][i])) {
				t.Fatalf("column %d: %v, want %v", j, got[j], want[j])
			}
		}
	}
}

// A champion's validation snapshot of an older schema, without one of the
// model columns: the drift guard compares the others, as it did with the
// whole snapshot, and says nothing of the missing one.
func TestDriftGuardOlderSchema(t *testing.T) {
	work := t.TempDir()
	runChain(t, work)
	cfg := Config{Workdir: work, Buckets: 4, Guards: Guards{Drift: GuardWarn, DriftPSI: 1e-9}}.WithDefaults()
	drift := func() GuardResult {
		t.Helper()
		rs, err := checkGuards(context.Background(), cfg, asOf, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Guard == "drift" {
				return r
			}
		}
		t.Fatal("no drift guard")
		return GuardResult{}
	}
	whole := drift()
	var art ChurnArtifact
	if _, err := loadChampion(work, KindChurn, &art); err != nil {
		t.Fatal(err)
	}
	dropped := features.ModelColumns[3]
	if !strings.Contains(whole.Detail, " "+dropped+" ") {
		t.Fatalf("%s should have drifted at a PSI limit of 1e-9: %s", dropped, whole.Detail)
	}
	ref := datasets.SnapshotDir(work, art.ValidatedOn)
	rec, _, err := datasets.ReadSnapshot(context.Background(), ref, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	k := rec.Schema().FieldIndices(dropped)[0]
	cols, fields := slices.Delete(slices.Clone(rec.Columns()), k, k+1), slices.Delete(slices.Clone(rec.Schema().Fields()), k, k+1)
	older := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	if err := os.RemoveAll(ref); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteSnapshot(ref, []arrow.RecordBatch{older}, nil); err != nil {
		t.Fatal(err)
	}
	got := drift()
	if strings.Contains(got.Detail, " "+dropped+" ") || !got.Tripped {
		t.Fatalf("without %s: %s", dropped, got.Detail)
	}
	// The others' PSIs as before: the whole detail less the dropped one's entry.
	for _, part := range strings.Split(strings.SplitN(whole.Detail, "drifted: ", 2)[1], ", ") {
		if !strings.HasPrefix(part, dropped+" ") && !strings.Contains(got.Detail, part) {
			t.Errorf("%q missing without %s: %s", part, dropped, got.Detail)
		}
	}
}
