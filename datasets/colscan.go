package datasets

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// ColumnChunk is a run of rows as plain Go slices, one per column: text as
// byte slices, integers and microsecond timestamps as int64 or int32,
// doubles as float64. A
// ColumnScan's chunks point into the Parquet pages (text values are not
// copied) and are valid until its next Next; ChunkFromRecord's point into
// the record. Null integers read as 0, null doubles as NaN, null text as
// nil; a column that may hold nulls has a validity slice (Valid; nil when
// every row is valid).
type ColumnChunk struct {
	N    int
	cols map[string]chunkColumn
}

type chunkColumn struct {
	text  [][]byte
	valid []bool
	i64   []int64
	i32   []int32
	f64   []float64
}

// Text returns the named text column and its validity (nil: all valid), or
// nil when the chunk has no such text column.
func (c *ColumnChunk) Text(name string) ([][]byte, []bool) {
	col := c.cols[name]
	if col.text == nil {
		return nil, nil
	}
	return col.text, col.valid
}

// Valid returns the named column's validity: nil when every row is valid
// (or there is no such column).
func (c *ColumnChunk) Valid(name string) []bool { return c.cols[name].valid }

// Int64s returns the named int64 (or timestamp) column, or nil.
func (c *ColumnChunk) Int64s(name string) []int64 { return c.cols[name].i64 }

// Int32s returns the named int32 column, or nil.
func (c *ColumnChunk) Int32s(name string) []int32 { return c.cols[name].i32 }

// Float64s returns the named float64 column, or nil.
func (c *ColumnChunk) Float64s(name string) []float64 { return c.cols[name].f64 }

// Names lists the chunk's columns, sorted.
func (c *ColumnChunk) Names() []string {
	names := make([]string, 0, len(c.cols))
	for n := range c.cols {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ChunkFromRecord views rec as a ColumnChunk: its string and
// dictionary-of-string columns as text, int64 and microsecond timestamp
// columns as int64s, int32 columns as int32s, float64 columns as float64s;
// other columns are left out.
// A timestamp in another unit is an error.
func ChunkFromRecord(rec arrow.RecordBatch) (*ColumnChunk, error) {
	n := int(rec.NumRows())
	c := &ColumnChunk{N: n, cols: make(map[string]chunkColumn, rec.NumCols())}
	for k, f := range rec.Schema().Fields() {
		a := rec.Column(k)
		var col chunkColumn
		switch v := a.(type) {
		case *array.String:
			col.text = stringBytes(v)
		case *array.Dictionary:
			words, ok := v.Dictionary().(*array.String)
			if !ok {
				continue
			}
			w := stringBytes(words)
			col.text = make([][]byte, n)
			for i := range n {
				if v.IsValid(i) {
					col.text[i] = w[v.GetValueIndex(i)]
				}
			}
		case *array.Timestamp:
			if u := v.DataType().(*arrow.TimestampType).Unit; u != arrow.Microsecond {
				return nil, fmt.Errorf("datasets: column %s must be in microseconds, got %s", f.Name, u)
			}
			col.i64 = dense[int64](v.TimestampValues(), a, 0)
		case *array.Int64:
			col.i64 = dense[int64](v.Int64Values(), a, 0)
		case *array.Int32:
			col.i32 = dense[int32](v.Int32Values(), a, 0)
		case *array.Float64:
			col.f64 = dense(v.Float64Values(), a, math.NaN())
		default:
			continue
		}
		if a.NullN() > 0 {
			col.valid = make([]bool, n)
			for i := range n {
				col.valid[i] = a.IsValid(i)
			}
		}
		c.cols[f.Name] = col
	}
	return c, nil
}

// dense copies a's values as T, with null for its nulls.
func dense[T, S int32 | int64 | float64 | arrow.Timestamp](vals []S, a arrow.Array, null T) []T {
	out := make([]T, len(vals))
	for i, v := range vals {
		out[i] = T(v)
	}
	if a.NullN() > 0 {
		for i := range out {
			if a.IsNull(i) {
				out[i] = null
			}
		}
	}
	return out
}

// stringBytes returns each value of a as a slice of its data (nil where a
// is null).
func stringBytes(a *array.String) [][]byte {
	out := make([][]byte, a.Len())
	data, offs := a.ValueBytes(), a.ValueOffsets()
	for i := range out {
		if a.IsValid(i) {
			out[i] = data[offs[i]-offs[0] : offs[i+1]-offs[0] : offs[i+1]-offs[0]]
		}
	}
	return out
}

// ColumnScan reads columns of a Parquet file page by page straight into
// ColumnChunks, without building Arrow arrays: the readers that go through
// every row once (the feature builders, the design matrices) need no more.
// Its columns must be required or optional (not repeated), of byte-array,
// int64 or int32 physical type, or double; an int64 timestamp must be in
// microseconds. An optional column's chunks have a validity slice.
type ColumnScan struct {
	path   string
	pf     *file.Reader
	cols   []*scanColumn
	chunk  ColumnChunk
	rows   int64 // read so far
	err    error
	closed bool
}

// scanColumn is one column's cursor: the values of its current page not
// yet handed out are vals[pos:n].
type scanColumn struct {
	name   string
	index  int // in the file's schema
	rg     int // the row group its reader is in
	reader file.ColumnChunkReader
	text   []parquet.ByteArray
	i64    []int64
	i32    []int32
	f64    []float64
	def    []int16 // an optional column's definition levels (1: a value)
	valid  []bool  // and its validity, by row of the values
	pos, n int
}

// scanBatch is the most values a column reads at once.
const scanBatch = 8 << 10

// OpenWarehouseBucketColumns opens a ColumnScan of bucket b's transactions,
// of the named columns the bucket has (at least one).
func OpenWarehouseBucketColumns(workdir string, b int, columns ...string) (*ColumnScan, error) {
	return openColumnScan(WarehouseBucketPath(workdir, b), columns...)
}

func openColumnScan(path string, columns ...string) (*ColumnScan, error) {
	pf, err := openParquetFile(path)
	if err != nil {
		return nil, err
	}
	s := &ColumnScan{path: path, pf: pf, chunk: ColumnChunk{cols: make(map[string]chunkColumn, len(columns))}}
	sc := pf.MetaData().Schema
	for _, name := range columns {
		i := sc.ColumnIndexByName(name)
		if i < 0 {
			continue
		}
		if err := scannable(sc.Column(i)); err != nil {
			pf.Close()
			return nil, &DataError{File: path, Field: name, Msg: err.Error()}
		}
		c := &scanColumn{name: name, index: i, rg: -1}
		if sc.Column(i).MaxDefinitionLevel() == 1 {
			c.def, c.valid = make([]int16, scanBatch), make([]bool, scanBatch)
		}
		s.cols = append(s.cols, c)
	}
	if len(s.cols) == 0 {
		pf.Close()
		return nil, fmt.Errorf("datasets: %s has none of the columns %v", path, columns)
	}
	return s, nil
}

// scannable says why a column cannot be scanned, or nil.
func scannable(c *schema.Column) error {
	if c.MaxDefinitionLevel() > 1 || c.MaxRepetitionLevel() != 0 {
		return fmt.Errorf("column %s is repeated or nested; want a flat column", c.Name())
	}
	switch c.PhysicalType() {
	case parquet.Types.ByteArray, parquet.Types.Int32, parquet.Types.Double:
	case parquet.Types.Int64:
		if ts, ok := c.LogicalType().(schema.TimestampLogicalType); ok && ts.TimeUnit() != schema.TimeUnitMicros {
			return fmt.Errorf("column %s must be a timestamp in microseconds, got %s", c.Name(), c.LogicalType())
		}
	default:
		return fmt.Errorf("column %s has physical type %s; want byte array, int64, int32 or double", c.Name(), c.PhysicalType())
	}
	return nil
}

// Next reads the next chunk of rows; false at the end or on an error (Err).
func (s *ColumnScan) Next() bool {
	if s.err != nil || s.closed {
		return false
	}
	k := -1
	ended := 0
	for _, c := range s.cols {
		if c.pos == c.n {
			more, err := s.fill(c)
			if err != nil {
				s.err = &DataError{File: s.path, Field: c.name, Msg: "cannot read the column (corrupt?): " + err.Error()}
				return false
			}
			if !more {
				ended++
				continue
			}
		}
		if k < 0 || c.n-c.pos < k {
			k = c.n - c.pos
		}
	}
	if ended > 0 {
		if ended < len(s.cols) || s.rows != s.pf.NumRows() {
			s.err = &DataError{File: s.path, Msg: fmt.Sprintf("columns end after different numbers of rows (%d read of %d; corrupt?)", s.rows, s.pf.NumRows())}
		}
		return false
	}
	s.chunk.N = k
	for _, c := range s.cols {
		var col chunkColumn
		if c.def != nil {
			col.valid = c.valid[c.pos : c.pos+k]
		}
		switch {
		case c.text != nil:
			col.text = byteSlices(c.text[c.pos : c.pos+k])
		case c.i64 != nil:
			col.i64 = c.i64[c.pos : c.pos+k]
		case c.i32 != nil:
			col.i32 = c.i32[c.pos : c.pos+k]
		default:
			col.f64 = c.f64[c.pos : c.pos+k]
		}
		c.pos += k
		s.chunk.cols[c.name] = col
	}
	s.rows += int64(k)
	return true
}

// byteSlices views parquet.ByteArray values as byte slices: the same type
// underneath (type ByteArray []byte), so no value is copied.
func byteSlices(v []parquet.ByteArray) [][]byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*[]byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// fill reads c's next values (from the current page, or the next one,
// moving on to the next row group), reporting false at the file's end.
func (s *ColumnScan) fill(c *scanColumn) (more bool, err error) {
	// arrow-go's decoders can panic on a damaged page (an index out of
	// range) where pqarrow's reader would recover: a damaged file is an
	// error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			more, err = false, fmt.Errorf("%v", r)
		}
	}()
	for {
		if c.reader == nil || !c.reader.HasNext() {
			if c.reader != nil {
				if err = c.reader.Err(); err != nil {
					return false, err
				}
			}
			if c.rg+1 >= s.pf.NumRowGroups() {
				return false, nil
			}
			c.rg++
			if c.reader, err = s.pf.RowGroup(c.rg).Column(c.index); err != nil {
				return false, err
			}
		}
		var n int64
		var v int // values read: fewer than n rows when some are null
		switch r := c.reader.(type) {
		case *file.ByteArrayColumnChunkReader:
			if c.text == nil {
				c.text = make([]parquet.ByteArray, scanBatch)
			}
			if n, v, err = r.ReadBatchInPage(scanBatch, c.text, c.def, nil); err == nil {
				spread(c, c.text, int(n), v, nil)
			}
		case *file.Int64ColumnChunkReader:
			if c.i64 == nil {
				c.i64 = make([]int64, scanBatch)
			}
			if n, v, err = r.ReadBatchInPage(scanBatch, c.i64, c.def, nil); err == nil {
				spread(c, c.i64, int(n), v, 0)
			}
		case *file.Int32ColumnChunkReader:
			if c.i32 == nil {
				c.i32 = make([]int32, scanBatch)
			}
			if n, v, err = r.ReadBatchInPage(scanBatch, c.i32, c.def, nil); err == nil {
				spread(c, c.i32, int(n), v, 0)
			}
		case *file.Float64ColumnChunkReader:
			if c.f64 == nil {
				c.f64 = make([]float64, scanBatch)
			}
			if n, v, err = r.ReadBatchInPage(scanBatch, c.f64, c.def, nil); err == nil {
				spread(c, c.f64, int(n), v, math.NaN())
			}
		default:
			return false, fmt.Errorf("unexpected column reader %T", r)
		}
		if err != nil {
			return false, err
		}
		if n > 0 {
			c.pos, c.n = 0, int(n)
			return true, nil
		}
	}
}

// spread moves an optional column's v values, read packed at the front of
// vals, to their rows among the n just read (by the definition levels),
// puts null in the others and sets the validity; a required column's
// values are its rows already.
func spread[T any](c *scanColumn, vals []T, n, v int, null T) {
	if c.def == nil {
		return
	}
	if v > n {
		panic(fmt.Sprintf("%d values for %d rows", v, n)) // a damaged page; fill recovers
	}
	j := v - 1
	for i := n - 1; i >= 0; i-- { // back to front: a value moves only to a later row
		ok := c.def[i] == 1
		c.valid[i] = ok
		if ok {
			vals[i] = vals[j]
			j--
		} else {
			vals[i] = null
		}
	}
	if j != -1 {
		panic(fmt.Sprintf("%d values for %d defined rows", v, v-1-j)) // a damaged page
	}
}

// Rows is the number of rows in the file.
func (s *ColumnScan) Rows() int64 { return s.pf.NumRows() }

// Chunks iterates the scan's chunks (each valid until the loop moves on),
// then its error, if any, with a nil chunk.
func (s *ColumnScan) Chunks() iter.Seq2[*ColumnChunk, error] {
	return func(yield func(*ColumnChunk, error) bool) {
		for s.Next() {
			if !yield(s.Chunk(), nil) {
				return
			}
		}
		if s.err != nil {
			yield(nil, s.err)
		}
	}
}

// RecordChunks iterates recs as ColumnChunks (ChunkFromRecord), or the
// error of the first that cannot be, with a nil chunk.
func RecordChunks(recs []arrow.RecordBatch) iter.Seq2[*ColumnChunk, error] {
	return func(yield func(*ColumnChunk, error) bool) {
		for _, rec := range recs {
			c, err := ChunkFromRecord(rec)
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// Chunk is the chunk Next read, valid until the next Next.
func (s *ColumnScan) Chunk() *ColumnChunk { return &s.chunk }

// Err is the error that ended the scan, if any.
func (s *ColumnScan) Err() error { return s.err }

// Close closes the file.
func (s *ColumnScan) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.pf.Close()
}
