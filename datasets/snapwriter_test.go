package datasets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// snapParts builds n parts of a three-column schema (the last column, a
// score, is the "trailing" one SnapshotWriter.Finish adds); part p has p rows
// (part 0 is empty, as a bucket without customers is).
func snapParts(t *testing.T, n int) (full []arrow.RecordBatch, schema *arrow.Schema) {
	t.Helper()
	schema = arrow.NewSchema([]arrow.Field{{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "spend", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "score", Type: arrow.PrimitiveTypes.Int8}}, nil)
	for p := range n {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := range p {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%03d-%d", p, i))
			if i%3 == 1 {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.Float64Builder).Append(float64(p*i) / 7)
			}
			b.Field(2).(*array.Int8Builder).Append(int8(1 + (p+i)%5))
		}
		full = append(full, b.NewRecordBatch())
		b.Release()
	}
	return full, schema
}

// A snapshot written part by part, the trailing column after every part
// has begun, is byte for byte the one WriteSnapshot writes from whole
// parts; many parts are open at once without holding descriptors.
func TestSnapshotWriterMatchesWriteSnapshot(t *testing.T) {
	const n = 40
	full, schema := snapParts(t, n)
	defer func() {
		for _, r := range full {
			r.Release()
		}
	}()
	work := t.TempDir()
	wantDir, gotDir := filepath.Join(work, "want"), filepath.Join(work, "got")
	meta := map[string]string{"cutoff": "2025-06-30"}
	if err := WriteSnapshot(wantDir, full, meta); err != nil {
		t.Fatal(err)
	}
	fdsBefore := openFDs(t)
	w, err := NewSnapshotWriter(gotDir, n, schema)
	if err != nil {
		t.Fatal(err)
	}
	for p := n - 1; p >= 0; p-- { // any order
		lead := array.NewRecordBatch(arrow.NewSchema(schema.Fields()[:2], nil), full[p].Columns()[:2], full[p].NumRows())
		if err := w.Begin(p, lead); err != nil {
			t.Fatal(err)
		}
		lead.Release()
	}
	if d := openFDs(t) - fdsBefore; d > 2 {
		t.Errorf("%d descriptors open with every part begun, want the parts parked", d)
	}
	if err := w.Finish(3, []arrow.Array{full[3].Column(1)}); err == nil || !strings.Contains(err.Error(), "column score is float64, want int8") {
		t.Errorf("wrong trailing type: %v", err)
	}
	if err := w.Commit(meta); err == nil || !strings.Contains(err.Error(), "not finished") {
		t.Errorf("commit with unfinished parts: %v", err)
	}
	if _, err := os.Stat(gotDir); !os.IsNotExist(err) {
		t.Fatalf("a failed commit left %s: %v", gotDir, err)
	}

	// Again, properly.
	w, err = NewSnapshotWriter(gotDir, n, schema)
	if err != nil {
		t.Fatal(err)
	}
	for p := range n {
		lead := array.NewRecordBatch(arrow.NewSchema(schema.Fields()[:2], nil), full[p].Columns()[:2], full[p].NumRows())
		if err := w.Begin(p, lead); err != nil {
			t.Fatal(err)
		}
		lead.Release()
	}
	if err := w.Begin(5, full[5]); err == nil {
		t.Error("a part begun twice")
	}
	for p := range n {
		if err := w.Finish(p, []arrow.Array{full[p].Column(2)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(wantDir, "*"))
	if len(files) != n+1 {
		t.Fatalf("%d files in the reference snapshot", len(files))
	}
	for _, f := range files {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(gotDir, filepath.Base(f)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from WriteSnapshot's (%v)", filepath.Base(f), err)
		}
	}
	checkManifestSums(t, gotDir)
	checkManifestSums(t, wantDir)
	w.Abort() // after Commit: nothing happens
	if _, err := os.Stat(filepath.Join(gotDir, ManifestName)); err != nil {
		t.Errorf("Abort after Commit removed the snapshot: %v", err)
	}
	rec, m, err := ReadSnapshot(t.Context(), gotDir, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if want := int64(n * (n - 1) / 2); rec.NumRows() != want || m.Rows != want {
		t.Errorf("read back %d rows, manifest %d, want %d", rec.NumRows(), m.Rows, want)
	}

	// Part by part, with each part's first row number: the same rows as
	// the whole read, one column only.
	ids := rec.Column(0).(*array.String)
	got := make([]string, ids.Len())
	var mu sync.Mutex
	err = ScanSnapshotParts(t.Context(), gotDir, []string{"customer_id"}, func(first int64, s *ColumnScan) error {
		at := first
		for c, err := range s.Chunks() {
			if err != nil {
				return err
			}
			if names := c.Names(); len(names) != 1 {
				return fmt.Errorf("columns %v read", names)
			}
			text, _ := c.Text("customer_id")
			mu.Lock()
			for i, v := range text {
				got[at+int64(i)] = string(v)
			}
			mu.Unlock()
			at += int64(c.N)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != ids.Value(i) {
			t.Fatalf("row %d: part by part %q, whole %q", i, got[i], ids.Value(i))
		}
	}
}

// Abort before Commit leaves no folder behind and an earlier snapshot untouched.
func TestSnapshotWriterAbortKeepsEarlier(t *testing.T) {
	full, schema := snapParts(t, 3)
	defer func() {
		for _, r := range full {
			r.Release()
		}
	}()
	dir := filepath.Join(t.TempDir(), "features", "cutoff=2025-06-30")
	if err := WriteSnapshot(dir, full, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	w, err := NewSnapshotWriter(dir, 3, schema)
	if err != nil {
		t.Fatal(err)
	}
	lead := array.NewRecordBatch(arrow.NewSchema(schema.Fields()[:2], nil), full[2].Columns()[:2], full[2].NumRows())
	defer lead.Release()
	if err := w.Begin(2, lead); err != nil {
		t.Fatal(err)
	}
	spendOnly := array.NewRecordBatch(arrow.NewSchema(schema.Fields()[1:2], nil), full[2].Columns()[1:2], full[2].NumRows())
	defer spendOnly.Release()
	if err := w.Begin(1, spendOnly); err == nil || !strings.Contains(err.Error(), "do not start the schema") {
		t.Errorf("a part whose columns do not start the schema: %v", err)
	}
	w.Abort()
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	if !bytes.Equal(before, after) {
		t.Error("the earlier snapshot changed")
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	return len(fds)
}

// EachSnapshotBatch hands over the kept parts' rows a batch at a time, in
// order, as ReadSnapshotParts would concatenate them: the total first,
// parts of no rows skipped but counted, a part of more than a batch
// (70,000 rows) in several, and fn's error stops the reading.
func TestEachSnapshotBatch(t *testing.T) {
	const n = 12
	full, schema := snapParts(t, n)
	defer func() {
		for _, r := range full {
			r.Release()
		}
	}()
	big := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for i := range 70_000 {
		big.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("big-%05d", i))
		big.Field(1).(*array.Float64Builder).Append(float64(i))
		big.Field(2).(*array.Int8Builder).Append(int8(i % 5))
	}
	full[9].Release()
	full[9] = big.NewRecordBatch()
	big.Release()
	dir := filepath.Join(t.TempDir(), "snap")
	if err := WriteSnapshot(dir, full, nil); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	keep := func(p int) bool { return p%3 != 1 } // parts 0 (empty), 2, 3, 5, 6, 8, 9, 11
	want, wantRows, _, err := ReadSnapshotParts(t.Context(), dir, mem, keep)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	var total int64 = -1
	var got []string
	var parts []int
	rows, err := EachSnapshotBatch(t.Context(), dir, mem, keep, nil, func(n int64) { total = n }, func(part int, rec arrow.RecordBatch) error {
		if total < 0 {
			t.Error("fn called before total")
		}
		if rec.NumRows() > 64<<10 {
			t.Errorf("part %d: a batch of %d rows", part, rec.NumRows())
		}
		parts = append(parts, part)
		ids := rec.Column(0).(*array.String)
		for i := range ids.Len() {
			got = append(got, ids.Value(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := want.Column(0).(*array.String)
	var wantIDs []string
	for i := range ids.Len() {
		wantIDs = append(wantIDs, ids.Value(i))
	}
	if total != want.NumRows() || !slices.Equal(got, wantIDs) || !maps.Equal(rows, wantRows) {
		t.Errorf("total %d, rows %v, %d ids; want %d, %v, %d ids", total, rows, len(got), want.NumRows(), wantRows, len(wantIDs))
	}
	if !slices.Equal(parts, []int{2, 3, 5, 6, 8, 9, 9, 11}) {
		t.Errorf("fn saw parts %v", parts)
	}
	calls := 0
	if _, err := EachSnapshotBatch(t.Context(), dir, mem, nil, nil, func(int64) {}, func(int, arrow.RecordBatch) error {
		calls++
		return fmt.Errorf("stop")
	}); err == nil || err.Error() != "stop" || calls != 1 {
		t.Errorf("fn's error: got %v after %d calls, want stop after 1", err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	calls = 0
	if _, err := EachSnapshotBatch(ctx, dir, mem, nil, nil, func(int64) {}, func(int, arrow.RecordBatch) error {
		calls++
		cancel()
		return nil
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled after %d calls: %v, want context.Canceled", calls, err)
	}
}
