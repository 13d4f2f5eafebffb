package datasets

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestAutoBuckets(t *testing.T) {
	const R = RowsPerBucket
	for _, c := range []struct {
		rows     int64
		existing int
		want     int
	}{
		{0, 0, 16},
		{16 * R, 0, 16},       // a million rows a bucket: still 16
		{16*R + 1, 0, 32},     // one more: doubled
		{121_669_942, 0, 128}, // the ten-million-customer shop
		{1 << 40, 0, 256},     // never above MaxAutoBuckets
		{32 * R, 16, 16},      // a stored count stays until its buckets hold twice R
		{32*R + 1, 16, 64},    // then doubles until a bucket holds at most R
		{1 << 40, 64, 256},
		{100 * R, 200, 200}, // a count set by hand that does not divide 256 stays
		{100 * R, 512, 512}, // as does one above 256
		{9_000_000, 4, 16},  // a small count set by hand grows from itself
		{8 * R, 4, 4},
		{0, 64, 64}, // and never shrinks
	} {
		if got := AutoBuckets(c.rows, c.existing); got != c.want {
			t.Errorf("AutoBuckets(%d, %d) = %d, want %d", c.rows, c.existing, got, c.want)
		}
	}
}

// autoShop writes two generated shops' transactions (overlapping customer
// ids, refunds, repeated lines) and returns their paths.
func autoShop(t *testing.T) (string, string) {
	t.Helper()
	var paths [2]string
	for i := range paths {
		dir := t.TempDir()
		if _, err := Generate(context.Background(), SyntheticConfig{Customers: 300, Seed: uint64(7 + i)}, dir); err != nil {
			t.Fatal(err)
		}
		paths[i] = filepath.Join(dir, "transactions.csv")
	}
	return paths[0], paths[1]
}

// ingestAuto reads paths into work's warehouse through a writer of n
// buckets (0: automatic, with per rows a bucket), after the stored
// warehouse when stored, and commits it; it returns the bucket count.
func ingestAuto(t *testing.T, work string, n int, per int64, stored bool, paths ...string) int {
	t.Helper()
	w, err := NewWarehouseWriter(work, n)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if per > 0 {
		w.perBucket = per
	}
	if stored {
		if err := w.AddWarehouse(work); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range paths {
		if _, err := w.ReadFile(context.Background(), p, ReadOptions{}, func(BadRow) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	info, _, err := w.Commit(context.Background(), work, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenWarehouse(work); err != nil || got.Buckets != info.Buckets {
		t.Fatalf("stored warehouse %+v, %v; the commit said %d buckets", got, err, info.Buckets)
	}
	return info.Buckets
}

// bucketFiles returns the bucket files of root (a warehouse folder or a
// shard's) in bucket order, nil for a bucket root lacks.
func bucketFiles(t *testing.T, root string, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for b := range n {
		data, err := os.ReadFile(filepath.Join(BucketDir(root, b), "part-00000.parquet"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[b] = data
	}
	return out
}

func sameFiles(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d buckets, want %d", what, len(got), len(want))
	}
	for b := range got {
		if !bytes.Equal(got[b], want[b]) {
			t.Errorf("%s: bucket %d differs (%d bytes, want %d)", what, b, len(got[b]), len(want[b]))
		}
	}
}

// TestAutoBucketsWarehouse checks that a warehouse whose bucket count is
// decided after its rows were spilled into MaxAutoBuckets buckets holds the
// same bytes as one written with that count from the start: for a new
// warehouse, one kept at its stored count, one grown from it (each new
// bucket filtering the stored bucket it splits, against the stored rows
// spilled again), one set by hand, and each shard's share.
func TestAutoBucketsWarehouse(t *testing.T) {
	shop1, shop2 := autoShop(t)
	wh := func(work string) string { return filepath.Join(work, WarehouseDir) }
	files := func(work string, n int) [][]byte { return bucketFiles(t, wh(work), n) }

	// A new warehouse, small: DefaultBuckets.
	auto := t.TempDir()
	if n := ingestAuto(t, auto, 0, 0, false, shop1); n != DefaultBuckets {
		t.Fatalf("a small shop got %d buckets, want %d", n, DefaultBuckets)
	}
	fixed := t.TempDir()
	ingestAuto(t, fixed, DefaultBuckets, 0, false, shop1)
	sameFiles(t, "new, 16", files(auto, 16), files(fixed, 16))

	// A new warehouse of more rows a bucket than per: more buckets.
	auto = t.TempDir()
	n := ingestAuto(t, auto, 0, 40, false, shop1, shop2)
	info, _ := OpenWarehouse(auto)
	if n <= DefaultBuckets || n != autoBuckets(info.Rows, 0, 40) {
		t.Fatalf("%d rows at 40 a bucket: %d buckets", info.Rows, n)
	}
	fixed = t.TempDir()
	ingestAuto(t, fixed, n, 0, false, shop1, shop2)
	sameFiles(t, "new, grown", files(auto, n), files(fixed, n))

	// A stored warehouse of 16 buckets: kept while they hold at most twice
	// per rows, grown beyond.
	for _, c := range []struct {
		name string
		per  int64
		grow bool
	}{{"kept", 1 << 20, false}, {"grown", 20, true}} {
		auto, fixed := t.TempDir(), t.TempDir()
		ingestAuto(t, auto, 16, 0, false, shop1)
		ingestAuto(t, fixed, 16, 0, false, shop1)
		n := ingestAuto(t, auto, 0, c.per, true, shop2)
		if c.grow != (n > 16) || n%16 != 0 {
			t.Fatalf("%s: %d buckets", c.name, n)
		}
		ingestAuto(t, fixed, n, 0, true, shop2) // n = 16: read at commit; else spilled again
		sameFiles(t, c.name, files(auto, n), files(fixed, n))
		used := 0
		for b := range n {
			if rows, err := WarehouseBucketRows(auto, b); err != nil {
				t.Fatal(err)
			} else if len(rows) > 0 {
				used++
			}
		}
		if c.grow && used <= 16 {
			t.Errorf("%s: rows in %d of %d buckets", c.name, used, n)
		}
	}

	// A stored warehouse ingested into another count set by hand: split
	// (16 → 64) or joined (64 → 16) at commit, or spilled again (16 → 24,
	// 24 → 16): the bytes of one ingest of both files into that count.
	for _, c := range [][2]int{{16, 64}, {64, 16}, {16, 24}, {24, 16}} {
		stored, once := t.TempDir(), t.TempDir()
		ingestAuto(t, stored, c[0], 0, false, shop1)
		ingestAuto(t, stored, c[1], 0, true, shop2)
		ingestAuto(t, once, c[1], 0, false, shop1, shop2)
		sameFiles(t, fmt.Sprintf("%d then %d", c[0], c[1]), files(stored, c[1]), files(once, c[1]))
	}
	// The automatic count that grew is that too.
	once := t.TempDir()
	grown := t.TempDir()
	ingestAuto(t, grown, 16, 0, false, shop1)
	n = ingestAuto(t, grown, 0, 20, true, shop2)
	ingestAuto(t, once, n, 0, false, shop1, shop2)
	sameFiles(t, "grown, against one ingest", files(grown, n), files(once, n))

	// A count set by hand that automatic counts cannot grow from stays.
	auto, fixed = t.TempDir(), t.TempDir()
	ingestAuto(t, auto, 3, 0, false, shop1)
	ingestAuto(t, fixed, 3, 0, false, shop1)
	if n := ingestAuto(t, auto, 0, 1, true, shop2); n != 3 {
		t.Fatalf("a stored count of 3 became %d", n)
	}
	ingestAuto(t, fixed, 3, 0, true, shop2)
	sameFiles(t, "by hand", files(auto, 3), files(fixed, 3))

	// Shards keep their buckets' rows while reading, before the count is
	// decided; each decides the same count and writes its buckets alike.
	whole := t.TempDir()
	n = ingestAuto(t, whole, 0, 40, false, shop1, shop2)
	want := files(whole, n)
	const shards = 4
	for i := range shards {
		w, err := NewWarehouseWriter(t.TempDir(), 0)
		if err != nil {
			t.Fatal(err)
		}
		w.perBucket = 40
		w.Only(func(b int) bool { return b%shards == i })
		for _, p := range []string{shop1, shop2} {
			if _, err := w.ReadFile(context.Background(), p, ReadOptions{}, func(BadRow) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		dir := t.TempDir()
		sh, err := w.CommitShard(context.Background(), dir)
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sh.Buckets != n {
			t.Fatalf("shard %d decided %d buckets, the whole ingest %d", i, sh.Buckets, n)
		}
		got := bucketFiles(t, dir, n)
		for b := range n {
			if b%shards != i {
				if got[b] != nil {
					t.Errorf("shard %d wrote bucket %d", i, b)
				}
				continue
			}
			if !bytes.Equal(got[b], want[b]) {
				t.Errorf("shard %d: bucket %d differs from the whole ingest's", i, b)
			}
		}
	}
}
