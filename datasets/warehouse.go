package datasets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
)

// DefaultBuckets is the fewest customer buckets a warehouse gets when its
// bucket count is automatic (AutoBuckets), and the count of the in-memory
// table commits when none is given.
const DefaultBuckets = 16

// Automatic bucket counts (AutoBuckets). A stage holds a bucket per
// worker, so a bucket's size, not the data's, sets its memory: ten million
// customers in sixteen buckets held 4–5.6 GB live in the snapshot pass,
// in 128 buckets 0.8–1.9 GB, at the same speed.
const (
	// RowsPerBucket is the most transaction rows an automatic count puts
	// in a bucket (about 80,000 customers of a typical shop).
	RowsPerBucket = 1 << 20
	// MaxAutoBuckets is the largest automatic count. Rows are spilled into
	// this many buckets while being read, when the count is not yet known;
	// every automatic count divides it, so a spill bucket f belongs to
	// bucket f mod n (FNV-1a modulo n of the customer id either way).
	MaxAutoBuckets = 256
)

// AutoBuckets returns the bucket count for a warehouse of rows transaction
// rows whose stored bucket count is existing (0: none stored). A new
// warehouse gets DefaultBuckets, doubled while a bucket would hold more
// than RowsPerBucket rows, up to MaxAutoBuckets. A stored count is kept
// until its buckets would hold twice RowsPerBucket, and then doubled in the
// same way; a count that does not divide MaxAutoBuckets (set by hand) is
// always kept. The count never shrinks by itself.
func AutoBuckets(rows int64, existing int) int { return autoBuckets(rows, existing, RowsPerBucket) }

// autoBuckets is AutoBuckets with per rows a bucket instead of RowsPerBucket.
func autoBuckets(rows int64, existing int, per int64) int {
	n := existing
	switch {
	case existing <= 0:
		n = DefaultBuckets
	case MaxAutoBuckets%existing != 0 || rows <= 2*per*int64(existing):
		return existing
	}
	for n < MaxAutoBuckets && rows > per*int64(n) {
		n *= 2
	}
	return n
}

// Bucket returns the bucket of a customer id: FNV-1a 32 modulo n.
func Bucket(customerID string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(customerID); i++ {
		h = (h ^ uint32(customerID[i])) * 16777619
	}
	return int(h % uint32(n))
}

// WarehouseInfo is the summary stored in the warehouse manifest's Meta.
type WarehouseInfo struct {
	Buckets    int
	Rows       int64
	Customers  int64
	MinTS      int64 // µs UTC
	MaxTS      int64 // µs UTC
	Duplicates int64 // rows dropped by the last commit as identical to another
	PricedRows int64 // rows with a list unit price (unit_price_cents > 0)
}

// BucketDir returns the folder of bucket b under the warehouse root.
func BucketDir(root string, b int) string {
	return filepath.Join(root, fmt.Sprintf("bucket=%03d", b))
}

// compareTx is the warehouse order: customer, time, then every other field.
func compareTx(a, b Transaction) int {
	if c := strings.Compare(a.CustomerID, b.CustomerID); c != 0 {
		return c
	}
	if a.TS != b.TS {
		if a.TS < b.TS {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.OrderID, b.OrderID); c != 0 {
		return c
	}
	if c := strings.Compare(a.ProductID, b.ProductID); c != 0 {
		return c
	}
	if a.AmountCents != b.AmountCents {
		if a.AmountCents < b.AmountCents {
			return -1
		}
		return 1
	}
	if a.Quantity != b.Quantity {
		return int(a.Quantity - b.Quantity)
	}
	if c := strings.Compare(a.Category, b.Category); c != 0 {
		return c
	}
	if c := strings.Compare(a.Channel, b.Channel); c != 0 {
		return c
	}
	if c := strings.Compare(a.LineID, b.LineID); c != 0 {
		return c
	}
	if c := strings.Compare(a.LineKind, b.LineKind); c != 0 {
		return c
	}
	return compareExtras(a.DiscountCents, a.UnitPriceCents, a.PointsEarned, a.PointsRedeemed,
		b.DiscountCents, b.UnitPriceCents, b.PointsEarned, b.PointsRedeemed)
}

// eachBucket runs fn for buckets 0..n-1 on GOMAXPROCS goroutines and
// returns their errors joined in bucket order.
func eachBucket(n int, fn func(b int) error) error {
	return parallel(n, runtime.GOMAXPROCS(0), fn)
}

// parallel runs fn for 0..n-1 on up to workers goroutines and returns
// their errors joined in index order.
func parallel(n, workers int, fn func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for b := range next {
				errs[b] = fn(b)
			}
		})
	}
	for b := range n {
		next <- b
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func writeParquetRows[T any](path string, rows []T, opts ...parquet.WriterOption) error {
	return writeParquetWith(path, false, func(pw *parquet.GenericWriter[T]) error {
		_, err := pw.Write(rows)
		return err
	}, opts...)
}

// writeParquetFunc is writeParquetRows of n rows that fill makes a chunk
// at a time: fill(dst, lo) fills dst with the rows from lo on. The writer
// takes rows 64 at a time however they come, so a chunk of a multiple of
// 64 rows gives the bytes of one write of them all. Its one use is a
// list's scores, written past the page cache (directFile).
func writeParquetFunc[T any](path string, n int, fill func(dst []T, lo int)) error {
	const chunk = 64 * 128
	return writeParquetWith(path, true, func(pw *parquet.GenericWriter[T]) error {
		buf := make([]T, min(chunk, n))
		for lo := 0; lo < n; lo += chunk {
			b := buf[:min(chunk, n-lo)]
			fill(b, lo)
			if _, err := pw.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeParquetWith creates path and writes rows to it with write, synced.
func writeParquetWith[T any](path string, direct bool, write func(*parquet.GenericWriter[T]) error, opts ...parquet.WriterOption) error {
	create := createSynced
	if direct {
		create = createSyncedDirect
	}
	f, finish, err := create(path)
	if err != nil {
		return err
	}
	pw := parquet.NewGenericWriter[T](f, append([]parquet.WriterOption{parquet.CreatedBy("churn", "", ""), parquet.MaxRowsPerRowGroup(1 << 20)}, opts...)...)
	err = write(pw)
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	return finish(err)
}

func readParquetRows[T any](path string) ([]T, error) {
	rows, _, err := readParquetHead[T](path, -1)
	return rows, err
}

// readParquetHead reads the first limit rows of a Parquet file (every row
// when limit < 0) and returns them with the file's row count.
func readParquetHead[T any](path string, limit int64) ([]T, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	total := r.NumRows()
	if limit < 0 || limit > total {
		limit = total
	}
	out := make([]T, limit)
	n, err := r.Read(out)
	if err != nil && n != len(out) {
		return nil, 0, fmt.Errorf("datasets: read %s: %w", path, err)
	}
	return out[:n], total, nil
}

// OpenWarehouse reads the warehouse manifest under workdir.
func OpenWarehouse(workdir string) (WarehouseInfo, error) {
	root := filepath.Join(workdir, WarehouseDir)
	m, err := ReadManifest(root)
	if err != nil {
		return WarehouseInfo{}, fmt.Errorf("datasets: no warehouse in %s (run churn ingest first): %w", workdir, err)
	}
	atoi := func(k string) int64 { v, _ := strconv.ParseInt(m.Meta[k], 10, 64); return v }
	info := WarehouseInfo{Buckets: int(atoi("buckets")), Rows: m.Rows, Customers: atoi("customers"), MinTS: atoi("min_ts"), MaxTS: atoi("max_ts"), PricedRows: atoi("priced_rows")}
	if info.Buckets <= 0 {
		return info, fmt.Errorf("datasets: warehouse manifest in %s has no bucket count", root)
	}
	return info, nil
}

// WarehouseBucketRows reads one bucket as canonical rows (for tests and small tools).
func WarehouseBucketRows(workdir string, b int) ([]Transaction, error) {
	return readParquetRows[Transaction](filepath.Join(BucketDir(filepath.Join(workdir, WarehouseDir), b), "part-00000.parquet"))
}

// WarehouseBucketPath is the Parquet file of bucket b.
func WarehouseBucketPath(workdir string, b int) string {
	return filepath.Join(BucketDir(filepath.Join(workdir, WarehouseDir), b), "part-00000.parquet")
}

// OpenWarehouseBucket returns a streaming Arrow record reader over bucket b,
// sorted by customer_id then ts. The caller must call the returned close
// function after releasing the reader.
// Only the named columns are read when columns is not empty (names the file
// lacks are skipped: older warehouses have fewer columns).
func OpenWarehouseBucket(ctx context.Context, workdir string, b int, mem memory.Allocator, columns ...string) (array.RecordReader, func() error, error) {
	return openParquetRecords(ctx, WarehouseBucketPath(workdir, b), mem, columns...)
}

// openParquetFile opens path for reading; a file that is there but not
// Parquet is a DataError.
func openParquetFile(path string) (*file.Reader, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("datasets: open %s: %w", path, err)
		}
		return nil, &DataError{File: path, Msg: "not a readable Parquet file (corrupt?): " + err.Error()}
	}
	return pf, nil
}

func openParquetRecords(ctx context.Context, path string, mem memory.Allocator, columns ...string) (array.RecordReader, func() error, error) {
	pf, err := openParquetFile(path)
	if err != nil {
		return nil, nil, err
	}
	props := pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}
	fr, err := pqarrow.NewFileReader(pf, props, mem)
	if err != nil {
		pf.Close()
		return nil, nil, &DataError{File: path, Msg: "not a readable Parquet file (corrupt?): " + err.Error()}
	}
	var cols []int
	for _, name := range columns {
		if i := pf.MetaData().Schema.ColumnIndexByName(name); i >= 0 {
			cols = append(cols, i)
		}
	}
	if len(columns) > 0 && len(cols) == 0 {
		pf.Close()
		return nil, nil, fmt.Errorf("datasets: %s has none of the columns %v", path, columns)
	}
	rr, err := fr.GetRecordReader(ctx, cols, nil)
	if err != nil {
		pf.Close()
		return nil, nil, fmt.Errorf("datasets: read %s: %w", path, err)
	}
	return rr, pf.Close, nil
}
