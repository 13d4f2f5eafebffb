package datasets

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
)

// DefaultBuckets is the number of customer buckets when none is configured.
const DefaultBuckets = 16

// Bucket returns the bucket of a customer id: FNV-1a 32 modulo n.
func Bucket(customerID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(customerID))
	return int(h.Sum32() % uint32(n))
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

// WarehouseWriter collects canonical rows by bucket and commits them as
// bucket=NNN/part-00000.parquet files, each sorted by (customer_id, ts, ...).
// Rows are held in memory until Commit.
type WarehouseWriter struct {
	buckets [][]Transaction
	full    [][][]Transaction // per bucket, filled chunks before buckets[b]
	keyed   bool              // some row has a line id
	info    WarehouseInfo
}

// addChunk is the row count of the chunks WarehouseWriter.Add fills.
const addChunk = 1 << 13

// NewWarehouseWriter returns a writer with n buckets (n ≤ 0 means DefaultBuckets).
func NewWarehouseWriter(n int) *WarehouseWriter {
	if n <= 0 {
		n = DefaultBuckets
	}
	return &WarehouseWriter{buckets: make([][]Transaction, n), full: make([][][]Transaction, n), info: WarehouseInfo{Buckets: n}}
}

// Add queues one row.
func (w *WarehouseWriter) Add(t Transaction) {
	b := Bucket(t.CustomerID, len(w.buckets))
	if t.LineID != "" {
		w.keyed = true
	}
	if len(w.buckets[b]) == cap(w.buckets[b]) {
		// Park the full chunk instead of growing it: no repeated copying of
		// millions of rows; Compact joins the chunks once.
		if cap(w.buckets[b]) > 0 {
			w.full[b] = append(w.full[b], w.buckets[b])
		}
		w.buckets[b] = make([]Transaction, 0, addChunk)
	}
	w.buckets[b] = append(w.buckets[b], t)
	if w.info.Rows == 0 || t.TS < w.info.MinTS {
		w.info.MinTS = t.TS
	}
	if w.info.Rows == 0 || t.TS > w.info.MaxTS {
		w.info.MaxTS = t.TS
	}
	w.info.Rows++
}

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
	return strings.Compare(a.LineID, b.LineID)
}

// compareLine orders rows by their line identity (customer, order, line).
func compareLine(a, b Transaction) int {
	if c := strings.Compare(a.CustomerID, b.CustomerID); c != 0 {
		return c
	}
	if c := strings.Compare(a.OrderID, b.OrderID); c != 0 {
		return c
	}
	return strings.Compare(a.LineID, b.LineID)
}

// latestLines keeps, of rows sharing a non-empty (customer, order, line)
// identity, only the one that arrived last (rows are in arrival order:
// the stored warehouse first, then the files in order).
func latestLines(rows []Transaction) []Transaction {
	slices.SortStableFunc(rows, compareLine)
	kept := rows[:0]
	for i, r := range rows {
		if r.LineID != "" && i+1 < len(rows) && compareLine(r, rows[i+1]) == 0 {
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// AddWarehouse queues every row of the warehouse under workdir, whatever
// its bucket count; a missing warehouse adds nothing.
func (w *WarehouseWriter) AddWarehouse(workdir string) error {
	info, err := OpenWarehouse(workdir)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(workdir, WarehouseDir, ManifestName)); os.IsNotExist(statErr) {
			return nil
		}
		return err
	}
	for b := range info.Buckets {
		rows, err := WarehouseBucketRows(workdir, b)
		if err != nil {
			return err
		}
		for _, t := range rows {
			w.Add(t)
		}
	}
	return nil
}

// LinkCancellations links the lines of cancellation invoices (order ids
// starting with prefix, e.g. C536379) to the original order (536379) of the
// same customer where it is in the data; the others stay as refunds under
// their own id. It returns how many lines it linked and how many it could
// not.
func (w *WarehouseWriter) LinkCancellations(prefix string) (linked, unlinked int64) {
	if prefix == "" {
		return 0, 0
	}
	for b := range w.buckets {
		chunks := append(slices.Clone(w.full[b]), w.buckets[b])
		orders := map[[2]string]bool{}
		for _, rows := range chunks {
			for _, t := range rows {
				if t.LineKind != LineCancellation && t.OrderID != "" {
					orders[[2]string{t.CustomerID, t.OrderID}] = true
				}
			}
		}
		for _, rows := range chunks {
			for i := range rows {
				t := &rows[i]
				orig, ok := strings.CutPrefix(t.OrderID, prefix)
				if t.LineKind != LineCancellation || !ok {
					continue
				}
				if orders[[2]string{t.CustomerID, orig}] {
					t.OrderID = orig
					linked++
				} else {
					unlinked++
				}
			}
		}
	}
	return linked, unlinked
}

// Rows returns the number of rows queued.
func (w *WarehouseWriter) Rows() int64 { return w.info.Rows }

// Compact sorts every bucket and drops rows identical to another (an export
// that overlaps an earlier one, or a line repeated in a file) and, for rows
// with a line id, all but the latest version of each order line (a
// corrected export), returning how many it dropped; Commit calls it.
func (w *WarehouseWriter) Compact() int64 {
	drops := make([]int64, len(w.buckets))
	eachBucket(len(w.buckets), func(b int) error {
		rows := w.buckets[b]
		if len(w.full[b]) > 0 {
			rows = slices.Concat(append(w.full[b], rows)...)
			w.full[b] = nil
		}
		n := len(rows)
		if w.keyed {
			rows = latestLines(rows)
		}
		slices.SortFunc(rows, compareTx)
		w.buckets[b] = slices.CompactFunc(rows, func(a, b Transaction) bool { return a == b })
		drops[b] = int64(n - len(w.buckets[b]))
		return nil
	})
	var dropped int64
	for _, d := range drops {
		dropped += d
	}
	w.info.Rows -= dropped
	w.info.Duplicates += dropped
	return dropped
}

// Commit sorts every bucket, drops rows identical to another (an export
// that overlaps an earlier one, or a line repeated in a file), and
// atomically replaces <workdir>/warehouse/transactions. meta is added to the
// manifest; extra files (name → content) are written into the folder.
func (w *WarehouseWriter) Commit(ctx context.Context, workdir string, meta map[string]string, extra map[string][]byte) (WarehouseInfo, error) {
	root := filepath.Join(workdir, WarehouseDir)
	w.Compact()
	err := CommitFolder(root, func(tmp string) (Manifest, error) {
		counts, priced := make([]int64, len(w.buckets)), make([]int64, len(w.buckets))
		err := eachBucket(len(w.buckets), func(b int) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rows := w.buckets[b]
			for i := range rows {
				if i == 0 || rows[i].CustomerID != rows[i-1].CustomerID {
					counts[b]++
				}
				if rows[i].UnitPriceCents > 0 {
					priced[b]++
				}
			}
			dir := BucketDir(tmp, b)
			if err := os.MkdirAll(dir, DirMode); err != nil {
				return fmt.Errorf("datasets: %w", err)
			}
			return writeParquetRows(filepath.Join(dir, "part-00000.parquet"), rows)
		})
		if err != nil {
			return Manifest{}, err
		}
		var customers int64
		w.info.PricedRows = 0
		for b, c := range counts {
			customers += c
			w.info.PricedRows += priced[b]
		}
		w.info.Customers = customers
		for name, data := range extra {
			if err := writeSynced(filepath.Join(tmp, name), data); err != nil {
				return Manifest{}, err
			}
		}
		m := Manifest{Kind: "warehouse/transactions", Rows: w.info.Rows, Meta: map[string]string{
			"buckets":     strconv.Itoa(w.info.Buckets),
			"customers":   strconv.FormatInt(customers, 10),
			"min_ts":      strconv.FormatInt(w.info.MinTS, 10),
			"max_ts":      strconv.FormatInt(w.info.MaxTS, 10),
			"priced_rows": strconv.FormatInt(w.info.PricedRows, 10),
		}}
		for k, v := range meta {
			m.Meta[k] = v
		}
		return m, nil
	})
	return w.info, err
}

// eachBucket runs fn for buckets 0..n-1 on GOMAXPROCS goroutines and
// returns their errors joined in bucket order.
func eachBucket(n int, fn func(b int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
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

func writeParquetRows[T any](path string, rows []T) error {
	f, finish, err := createSynced(path)
	if err != nil {
		return err
	}
	pw := parquet.NewGenericWriter[T](f, parquet.CreatedBy("churn", "", ""), parquet.MaxRowsPerRowGroup(1<<20))
	_, err = pw.Write(rows)
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	return finish(err)
}

func readParquetRows[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	out := make([]T, r.NumRows())
	n, err := r.Read(out)
	if err != nil && n != len(out) {
		return nil, fmt.Errorf("datasets: read %s: %w", path, err)
	}
	return out[:n], nil
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
	path := filepath.Join(BucketDir(filepath.Join(workdir, WarehouseDir), b), "part-00000.parquet")
	return openParquetRecordsDict(ctx, path, mem, nil, columns...)
}

// DictColumns are the warehouse's dictionary-encoded text columns.
var DictColumns = []string{ColCustomerID, ColCategory, ColChannel, ColLineKind}

// OpenWarehouseBucketDict is OpenWarehouseBucket with the DictColumns read
// as Arrow dictionary arrays (indices into each batch's distinct values)
// instead of materialised strings: the Parquet pages' dictionaries pass
// through, which saves copying every value. Readers must accept both.
func OpenWarehouseBucketDict(ctx context.Context, workdir string, b int, mem memory.Allocator, columns ...string) (array.RecordReader, func() error, error) {
	path := filepath.Join(BucketDir(filepath.Join(workdir, WarehouseDir), b), "part-00000.parquet")
	return openParquetRecordsDict(ctx, path, mem, DictColumns, columns...)
}

func openParquetRecords(ctx context.Context, path string, mem memory.Allocator, columns ...string) (array.RecordReader, func() error, error) {
	return openParquetRecordsDict(ctx, path, mem, nil, columns...)
}

func openParquetRecordsDict(ctx context.Context, path string, mem memory.Allocator, dict []string, columns ...string) (array.RecordReader, func() error, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("datasets: open %s: %w", path, err)
		}
		return nil, nil, &DataError{File: path, Msg: "not a readable Parquet file (corrupt?): " + err.Error()}
	}
	props := pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}
	for _, name := range dict {
		if i := pf.MetaData().Schema.ColumnIndexByName(name); i >= 0 {
			props.SetReadDict(i, true)
		}
	}
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
