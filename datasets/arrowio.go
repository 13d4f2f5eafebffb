package datasets

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// WriteRecordParquet writes one record batch to a new Parquet file with
// deterministic writer properties (Snappy: feature snapshots are working
// files, read back soon, and Snappy writes 1M customers ~2 s faster than
// zstd for 40% more bytes; fixed created_by).
func WriteRecordParquet(path string, rec arrow.RecordBatch) error {
	f, finish, err := createSynced(path)
	if err != nil {
		return err
	}
	props := snapshotProps(rec.Schema())
	// pqarrow closes a sink that is an io.Closer; hide Close so finish can sync first.
	fw, err := pqarrow.NewFileWriter(rec.Schema(), struct{ io.Writer }{f}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return finish(fmt.Errorf("datasets: parquet writer %s: %w", path, err))
	}
	err = fw.Write(rec)
	if cerr := fw.Close(); err == nil {
		err = cerr
	}
	return finish(err)
}

// snapshotProps are the Parquet writer properties of feature files.
func snapshotProps(schema *arrow.Schema) *parquet.WriterProperties {
	// Dictionaries only for strings: hashing every float and integer of a
	// wide feature table costs more than Snappy gains over plain pages. Not
	// for customer_id either: one value a row, its dictionary is the
	// column over again (plain pages: 1% smaller snapshots, about 0.3 s
	// less CPU a snapshot at 1M customers).
	// Pages of 64 KB instead of 1 MB: the writer's page buffers stay small
	// and come back from its pool warm, instead of a fresh zeroed half
	// megabyte for every column (Features1M 3.91 → 3.81 s, for 2% more
	// bytes).
	// No statistics (each page's and column chunk's minimum, maximum and
	// null count): nothing reads them, a snapshot's buckets all span the
	// same ranges so no reader could skip one by them, and working them out
	// cost a pass over every value (about 0.5 s of CPU a snapshot at 1M
	// customers; the files are 3% smaller).
	opts := []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy), parquet.WithCreatedBy("churn"), parquet.WithDataPageSize(64 << 10),
		parquet.WithDictionaryDefault(false), parquet.WithStats(false)}
	for _, f := range schema.Fields() {
		if f.Type.ID() == arrow.STRING && f.Name != ColCustomerID {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
		}
	}
	return parquet.NewWriterProperties(opts...)
}

// Column returns the column of rec named name, or nil when it has none.
func Column(rec arrow.RecordBatch, name string) arrow.Array {
	if idx := rec.Schema().FieldIndices(name); len(idx) > 0 {
		return rec.Column(idx[0])
	}
	return nil
}

// ReadParquetRecords reads a whole Parquet file into record batches: the
// named columns, or every column when none is named (names the file lacks
// are skipped). The caller releases each batch.
func ReadParquetRecords(ctx context.Context, path string, mem memory.Allocator, columns ...string) ([]arrow.RecordBatch, error) {
	rr, closeFile, err := openParquetRecords(ctx, path, mem, columns...)
	if err != nil {
		return nil, err
	}
	defer closeFile()
	defer rr.Release()
	var out []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		out = append(out, rec)
	}
	if err := rr.Err(); err != nil {
		for _, r := range out {
			r.Release()
		}
		return nil, fmt.Errorf("datasets: read %s: %w", path, err)
	}
	return out, nil
}

// ReadParquetRecord reads a whole Parquet file (every column) into one
// record batch. The caller releases it.
func ReadParquetRecord(ctx context.Context, path string, mem memory.Allocator) (arrow.RecordBatch, error) {
	rr, closeFile, err := openParquetRecords(ctx, path, mem)
	if err != nil {
		return nil, err
	}
	schema := rr.Schema()
	empty := func() arrow.RecordBatch { // a file of no rows
		cols := make([]arrow.Array, schema.NumFields())
		for j, f := range schema.Fields() {
			cols[j] = array.MakeArrayOfNull(mem, f.Type, 0)
			defer cols[j].Release()
		}
		return array.NewRecordBatch(schema, cols, 0)
	}
	var recs []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err = rr.Err(); err != nil {
		err = fmt.Errorf("datasets: read %s: %w", path, err)
	}
	rr.Release()
	if cerr := closeFile(); err == nil && cerr != nil {
		err = fmt.Errorf("datasets: read %s: %w", path, cerr)
	}
	if err == nil && len(recs) == 0 {
		return empty(), nil
	}
	rec, _, err := concatParts(path, Manifest{}, recs, mem, err)
	if err != nil {
		return nil, err
	}
	return withValueBuffers(rec), nil
}

// withValueBuffers returns rec (released) or, when a string column of it
// has values but no value buffer (all of them empty: the reader allocates
// none), a batch whose such columns have an empty buffer instead, as
// Arrow's builders make them. Parquet writes an empty string's statistics
// only from a buffer, so without this, writing the batch again would not
// give the bytes of the file it came from.
func withValueBuffers(rec arrow.RecordBatch) arrow.RecordBatch {
	cols := slices.Clone(rec.Columns())
	changed := false
	for j, c := range cols {
		s, ok := c.(*array.String)
		if !ok || s.Len() == s.NullN() || s.Data().Buffers()[2] != nil && s.Data().Buffers()[2].Buf() != nil {
			continue
		}
		bufs := slices.Clone(s.Data().Buffers())
		bufs[2] = memory.NewBufferBytes([]byte{})
		d := array.NewData(s.DataType(), s.Len(), bufs, nil, s.NullN(), s.Data().Offset())
		cols[j] = array.NewStringData(d)
		d.Release()
		defer cols[j].Release()
		changed = true
	}
	if !changed {
		return rec
	}
	defer rec.Release()
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
}

// SnapshotDir returns <workdir>/features/cutoff=YYYY-MM-DD.
func SnapshotDir(workdir, cutoff string) string {
	return filepath.Join(workdir, FeaturesDir, "cutoff="+cutoff)
}

// WriteSnapshot commits one Parquet part per record batch (part-NNN.parquet,
// in slice order) plus the manifest into dir, atomically.
func WriteSnapshot(dir string, parts []arrow.RecordBatch, meta map[string]string) error {
	return CommitFolder(dir, func(tmp string) (Manifest, error) {
		var rows int64
		for _, rec := range parts {
			rows += rec.NumRows()
		}
		err := eachBucket(len(parts), func(i int) error { // parts are independent files: write them in parallel
			return WriteRecordParquet(filepath.Join(tmp, fmt.Sprintf("part-%03d.parquet", i)), parts[i])
		})
		return Manifest{Kind: "features", Rows: rows, Meta: meta}, err
	})
}

// SnapshotParts lists the Parquet parts of a committed snapshot, in order,
// and checks that they exist.
func SnapshotParts(dir string) ([]string, Manifest, error) {
	parts, m, err := ListSnapshotParts(dir)
	if err != nil {
		return nil, m, err
	}
	return parts, m, partsExist(dir, parts)
}

// ListSnapshotParts lists the Parquet parts of a committed snapshot, in
// order, as its manifest names them (a shard's copy of a work directory in
// object storage holds only its own).
func ListSnapshotParts(dir string) ([]string, Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, m, err
	}
	var parts []string
	for _, f := range m.Files {
		if filepath.Ext(f.Path) == ".parquet" {
			parts = append(parts, filepath.Join(dir, filepath.FromSlash(f.Path)))
		}
	}
	sort.Strings(parts)
	return parts, m, nil
}

func partsExist(dir string, parts []string) error {
	for _, p := range parts {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("datasets: snapshot %s: %w", dir, err)
		}
	}
	return nil
}

// ReadSnapshot reads every part of a committed snapshot into one record
// batch (columns concatenated in part order): the named columns, or every
// column when none is named. Parts are read in parallel; each column's
// part chunks are released as soon as it is concatenated, so memory peaks
// near one copy of the result. The caller releases it.
func ReadSnapshot(ctx context.Context, dir string, mem memory.Allocator, columns ...string) (arrow.RecordBatch, Manifest, error) {
	rec, _, m, err := ReadSnapshotParts(ctx, dir, mem, nil, columns...)
	return rec, m, err
}

// PartNumber returns the number NNN of a snapshot part's file name
// (part-NNN.parquet), or -1.
func PartNumber(path string) int {
	var n int
	if _, err := fmt.Sscanf(filepath.Base(path), "part-%d.parquet", &n); err != nil {
		return -1
	}
	return n
}

// ReadSnapshotParts is ReadSnapshot over the parts whose number keep
// accepts (nil: every part). It also returns the number of rows each
// part read brought, by part number; a part of no rows is still listed.
func ReadSnapshotParts(ctx context.Context, dir string, mem memory.Allocator, keep func(part int) bool, columns ...string) (arrow.RecordBatch, map[int]int64, Manifest, error) {
	parts, m, err := keptParts(dir, keep)
	if err != nil {
		return nil, nil, m, err
	}
	perPart := make([][]arrow.RecordBatch, len(parts))
	err = eachBucket(len(parts), func(i int) error {
		var err error
		perPart[i], err = ReadParquetRecords(ctx, parts[i], mem, columns...)
		return err
	})
	partRows := make(map[int]int64, len(parts))
	for i, recs := range perPart {
		n := int64(0)
		for _, r := range recs {
			n += r.NumRows()
		}
		partRows[PartNumber(parts[i])] = n
	}
	rec, m, err := concatParts(dir, m, slices.Concat(perPart...), mem, err)
	return rec, partRows, m, err
}

// EachSnapshotBatch reads the kept parts of a snapshot (nil keep: all) as
// ReadSnapshotParts would concatenate them, but hands them to fn a record
// batch at a time (64k rows at most; a part gives one or more, parts in
// order, released when fn returns), reading the next batch while fn works
// on one: memory holds two batches of the named columns, not two parts
// (at ten million customers, a part of 16 holds over 600k). total, called
// first, gets the rows of the kept parts (from the files' footers). Parts of
// no rows get no call. It returns the rows of each part read, by part
// number, as ReadSnapshotParts does.
func EachSnapshotBatch(ctx context.Context, dir string, mem memory.Allocator, keep func(part int) bool, columns []string,
	total func(rows int64), fn func(part int, rec arrow.RecordBatch) error) (map[int]int64, error) {
	parts, _, err := keptParts(dir, keep)
	if err != nil {
		return nil, err
	}
	firsts, err := partFirsts(parts)
	if err != nil {
		return nil, err
	}
	total(firsts[len(parts)])
	type read struct {
		part int // index into parts
		rec  arrow.RecordBatch
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan read) // one batch read ahead, waiting to be sent
	go func() {
		defer close(ch)
		send := func(r read) bool {
			select {
			case ch <- r:
				return r.err == nil
			case <-ctx.Done():
				if r.rec != nil {
					r.rec.Release()
				}
				return false
			}
		}
		for i, p := range parts {
			rr, closeFile, err := openParquetRecords(ctx, p, mem, columns...)
			if err != nil {
				send(read{err: err})
				return
			}
			ok := true
			for ok && rr.Next() {
				rec := rr.RecordBatch()
				rec.Retain()
				ok = send(read{part: i, rec: rec})
			}
			if ok {
				if err := rr.Err(); err != nil {
					ok = send(read{err: fmt.Errorf("datasets: read %s: %w", p, err)})
				}
			}
			rr.Release()
			closeFile()
			if !ok {
				return
			}
		}
	}()
	partRows := make(map[int]int64, len(parts))
	for _, p := range parts {
		partRows[PartNumber(p)] = 0
	}
	var schema *arrow.Schema
	var ferr error
	some := false
	for r := range ch {
		if ferr == nil {
			ferr = r.err
		}
		if ferr == nil && r.rec.NumRows() > 0 {
			if schema == nil {
				schema = r.rec.Schema()
			}
			if !r.rec.Schema().Equal(schema) {
				ferr = fmt.Errorf("datasets: snapshot %s: parts have different schemas", dir)
			} else {
				some = true
				partRows[PartNumber(parts[r.part])] += r.rec.NumRows()
				ferr = fn(PartNumber(parts[r.part]), r.rec)
			}
		}
		if ferr != nil {
			cancel()
		}
		if r.rec != nil {
			r.rec.Release()
		}
	}
	if ferr == nil {
		ferr = ctx.Err() // the caller's: the reading stopped short
	}
	if ferr == nil && !some {
		ferr = fmt.Errorf("datasets: snapshot %s has no record batches", dir)
	}
	if ferr != nil {
		return nil, ferr
	}
	return partRows, nil
}

// keptParts lists the parts of the snapshot in dir whose number keep
// accepts (nil: every part), checking they are there.
func keptParts(dir string, keep func(part int) bool) ([]string, Manifest, error) {
	all, m, err := ListSnapshotParts(dir)
	if err != nil {
		return nil, m, err
	}
	var parts []string
	for _, p := range all {
		if keep == nil || keep(PartNumber(p)) {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil, m, fmt.Errorf("datasets: snapshot %s has none of the parts asked for", dir)
	}
	return parts, m, partsExist(dir, parts)
}

// partFirsts returns, from the files' footers, the snapshot row number of
// each part's first row, and the rows of them all last.
func partFirsts(parts []string) ([]int64, error) {
	firsts := make([]int64, len(parts)+1)
	for i, p := range parts {
		pf, err := file.OpenParquetFile(p, false)
		if err != nil {
			return nil, &DataError{File: p, Msg: "not a readable Parquet file (corrupt?): " + err.Error()}
		}
		firsts[i+1] = firsts[i] + pf.NumRows()
		if err := pf.Close(); err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", p, err)
		}
	}
	return firsts, nil
}

// concatParts concatenates the parts' record batches (read with error err)
// into one and releases them.
func concatParts(dir string, m Manifest, recs []arrow.RecordBatch, mem memory.Allocator, err error) (arrow.RecordBatch, Manifest, error) {
	defer func() {
		for _, r := range recs {
			if r != nil {
				r.Release()
			}
		}
	}()
	if err != nil {
		return nil, m, err
	}
	if len(recs) == 0 {
		return nil, m, fmt.Errorf("datasets: snapshot %s has no record batches", dir)
	}
	schema := recs[0].Schema()
	var rows int64
	for _, r := range recs {
		if !r.Schema().Equal(schema) {
			return nil, m, fmt.Errorf("datasets: snapshot %s: parts have different schemas", dir)
		}
		rows += r.NumRows()
	}
	// The columns leave their batches so each can be freed once concatenated.
	chunks := make([][]arrow.Array, schema.NumFields())
	for j := range chunks {
		chunks[j] = make([]arrow.Array, len(recs))
		for i, r := range recs {
			chunks[j][i] = r.Column(j)
			chunks[j][i].Retain()
		}
	}
	for i, r := range recs {
		r.Release()
		recs[i] = nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for j := range chunks {
			for _, c := range chunks[j] {
				c.Release()
			}
		}
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for j := range cols {
		if cols[j], err = array.Concatenate(chunks[j], mem); err != nil {
			return nil, m, fmt.Errorf("datasets: snapshot %s: %w", dir, err)
		}
		for _, c := range chunks[j] {
			c.Release()
		}
		chunks[j] = nil
	}
	out := array.NewRecordBatch(schema, cols, rows)
	return out, m, nil
}

// ScanSnapshotParts scans the named columns of a committed snapshot part
// by part, parts in parallel: fn gets each part's ColumnScan (closed when
// fn returns) and the snapshot row number of the part's first row. Memory
// holds a chunk of the parts being read, never the snapshot. fn is called
// concurrently for different parts.
func ScanSnapshotParts(ctx context.Context, dir string, columns []string, fn func(first int64, s *ColumnScan) error) error {
	parts, _, err := SnapshotParts(dir)
	if err != nil {
		return err
	}
	firsts, err := partFirsts(parts)
	if err != nil {
		return err
	}
	return eachBucket(len(parts), func(i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := openColumnScan(parts[i], columns...)
		if err != nil {
			return err
		}
		defer s.Close()
		if s.Rows() != firsts[i+1]-firsts[i] {
			return &DataError{File: parts[i], Msg: fmt.Sprintf("has %d rows, its footer said %d", s.Rows(), firsts[i+1]-firsts[i])}
		}
		return fn(firsts[i], s)
	})
}

// OpenFeatures opens the committed feature snapshot at cutoff
// (<workdir>/features/cutoff=YYYY-MM-DD) as a stream of record batches,
// one part (bucket) at a time: memory holds a part, not the snapshot. The
// reader owns the batches it returns (valid until the next Next; Retain
// one to keep it); the caller releases the reader. For notebooks and
// other tools; the pipeline reads snapshots whole (ReadSnapshot).
func OpenFeatures(ctx context.Context, workdir string, cutoff time.Time, mem memory.Allocator) (array.RecordReader, error) {
	dir := SnapshotDir(workdir, cutoff.Format(time.DateOnly))
	parts, _, err := SnapshotParts(dir)
	if err != nil {
		return nil, fmt.Errorf("datasets: no feature snapshot at %s (run churn features --cutoff %s): %w", cutoff.Format(time.DateOnly), cutoff.Format(time.DateOnly), err)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("datasets: snapshot %s has no parts", dir)
	}
	first, err := ReadParquetRecords(ctx, parts[0], mem)
	if err != nil {
		return nil, err
	}
	if len(first) == 0 {
		return nil, fmt.Errorf("datasets: snapshot part %s has no record batches", parts[0])
	}
	schema := first[0].Schema()
	batches := func(yield func(arrow.RecordBatch, error) bool) {
		pending := first
		defer func() { // batches read but not handed over
			for _, r := range pending {
				r.Release()
			}
		}()
		for k := 0; ; k++ {
			for len(pending) > 0 {
				r := pending[0]
				pending = pending[1:]
				if !r.Schema().Equal(schema) {
					r.Release()
					yield(nil, fmt.Errorf("datasets: snapshot %s: parts have different schemas", dir))
					return
				}
				if !yield(r, nil) {
					return
				}
			}
			if k+1 >= len(parts) {
				return
			}
			if pending, err = ReadParquetRecords(ctx, parts[k+1], mem); err != nil {
				yield(nil, err)
				return
			}
		}
	}
	return array.ReaderFromIter(schema, batches), nil
}
