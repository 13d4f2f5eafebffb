package features

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The builder's feature columns are filled as plain Go slices, a value and
// a validity bit per row, and become Arrow arrays over those slices when a
// record is cut (no copy): Arrow's builders check capacity, grow bitmaps
// and go through an interface for every one of a million customers' eighty
// values. The arrays hold the same values, validity and null counts as the
// builders' would, so the snapshot files are the same bytes.

// featureColumn is one feature column being filled.
type featureColumn interface {
	reserve(n int)
	// array returns the rows so far as an Arrow array and starts the
	// column afresh (the array keeps the old slices).
	array() arrow.Array
}

// newColumn returns an empty column for a field of the builder's schema.
func newColumn(t arrow.DataType) featureColumn {
	switch t.ID() {
	case arrow.FLOAT64:
		return &f64Col{}
	case arrow.INT64:
		return &i64Col{}
	case arrow.DATE32:
		return &date32Col{}
	case arrow.BOOL:
		return &boolCol{}
	case arrow.STRING:
		return &strCol{}
	}
	panic(fmt.Sprintf("features: no column for %s", t))
}

// validity is a column's bitmap of valid rows and its null count. A
// column without nulls keeps no bitmap (Arrow's "every row valid", which
// the Parquet writer writes as it writes a bitmap of ones): most feature
// columns have a value for every customer, and then a row costs a count.
type validity struct {
	bits  []byte // nil until the first null
	n     int    // rows
	nulls int
}

func (v *validity) reserve(n int) {
	if v.nulls > 0 {
		v.bits = growBytes(v.bits, (v.n+n+7)/8)
	}
}

// add records one row, valid or not.
func (v *validity) add(ok bool) {
	if ok && v.nulls == 0 {
		v.n++
		return
	}
	if v.nulls == 0 { // the first null: the rows before it were valid
		v.bits = ones(v.bits[:0], v.n)
	}
	v.bits = appendBit(v.bits, v.n, ok)
	if !ok {
		v.nulls++
	}
	v.n++
}

// ones appends a bitmap of n set bits to dst.
func ones(dst []byte, n int) []byte {
	for range n / 8 {
		dst = append(dst, 0xff)
	}
	if n%8 != 0 {
		dst = append(dst, byte(1)<<(n%8)-1)
	}
	return dst
}

// appendBit sets bit n of a bitmap of n bits to b, growing it by a byte
// when n starts one.
func appendBit(bits []byte, n int, b bool) []byte {
	if n%8 == 0 {
		bits = append(bits, 0)
	}
	if b {
		bits[n/8] |= 1 << (n % 8)
	}
	return bits
}

// take returns the bitmap buffer (nil when every row is valid) and null
// count and starts afresh.
func (v *validity) take() (*memory.Buffer, int, int) {
	var buf *memory.Buffer
	if v.nulls > 0 {
		buf = memory.NewBufferBytes(v.bits)
	}
	n, nulls := v.n, v.nulls
	*v = validity{}
	return buf, n, nulls
}

func growBytes(b []byte, c int) []byte {
	if c > cap(b) {
		b = append(make([]byte, 0, c), b...)
	}
	return b
}

func growSlice[T any](s []T, c int) []T {
	if c > cap(s) {
		s = append(make([]T, 0, c), s...)
	}
	return s
}

// bytesOf is the memory of s as bytes.
func bytesOf[T int32 | int64 | float64](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// fixed is a column of fixed-width values.
type fixed[T int32 | int64 | float64] struct {
	validity
	vals []T
}

func (c *fixed[T]) reserve(n int) {
	c.validity.reserve(n)
	c.vals = growSlice(c.vals, len(c.vals)+n)
}

// Append adds a valid value.
func (c *fixed[T]) Append(v T) {
	c.vals = append(c.vals, v)
	c.add(true)
}

// AppendNull adds a missing value (0 in the values, as Arrow's builders leave it).
func (c *fixed[T]) AppendNull() {
	c.vals = append(c.vals, 0)
	c.add(false)
}

func (c *fixed[T]) data(t arrow.DataType) arrow.ArrayData {
	vals := memory.NewBufferBytes(bytesOf(c.vals))
	c.vals = nil
	bits, n, nulls := c.take()
	return array.NewData(t, n, []*memory.Buffer{bits, vals}, nil, nulls, 0)
}

type f64Col struct{ fixed[float64] }

func (c *f64Col) array() arrow.Array {
	d := c.data(arrow.PrimitiveTypes.Float64)
	defer d.Release()
	return array.NewFloat64Data(d)
}

type i64Col struct{ fixed[int64] }

func (c *i64Col) array() arrow.Array {
	d := c.data(arrow.PrimitiveTypes.Int64)
	defer d.Release()
	return array.NewInt64Data(d)
}

type date32Col struct{ fixed[int32] }

// Append adds a valid day.
func (c *date32Col) Append(v arrow.Date32) { c.fixed.Append(int32(v)) }

func (c *date32Col) array() arrow.Array {
	d := c.data(arrow.FixedWidthTypes.Date32)
	defer d.Release()
	return array.NewDate32Data(d)
}

// boolCol is a column of booleans, a bit each.
type boolCol struct {
	validity
	vals []byte
}

func (c *boolCol) reserve(n int) {
	c.validity.reserve(n)
	c.vals = growBytes(c.vals, (c.n+n+7)/8)
}

// Append adds a valid boolean.
func (c *boolCol) Append(v bool) {
	c.vals = appendBit(c.vals, c.n, v)
	c.add(true)
}

func (c *boolCol) array() arrow.Array {
	vals := memory.NewBufferBytes(c.vals)
	c.vals = nil
	bits, n, nulls := c.take()
	d := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{bits, vals}, nil, nulls, 0)
	defer d.Release()
	return array.NewBooleanData(d)
}

// strCol is a column of strings: 32-bit offsets and the bytes.
type strCol struct {
	validity
	offsets []int32
	bytes   []byte
}

func (c *strCol) reserve(n int) {
	c.validity.reserve(n)
	c.offsets = growSlice(c.offsets, len(c.offsets)+n+1)
	c.bytes = growBytes(c.bytes, len(c.bytes)+8*n)
}

// Append adds a valid string.
func (c *strCol) Append(s string) {
	if len(c.offsets) == 0 {
		c.offsets = append(c.offsets, 0)
	}
	c.bytes = append(c.bytes, s...)
	c.offsets = append(c.offsets, int32(len(c.bytes)))
	c.add(true)
}

func (c *strCol) array() arrow.Array {
	if len(c.offsets) == 0 {
		c.offsets = append(c.offsets, 0)
	}
	offsets, data := memory.NewBufferBytes(bytesOf(c.offsets)), memory.NewBufferBytes(c.bytes)
	c.offsets, c.bytes = nil, nil
	bits, n, nulls := c.take()
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{bits, offsets, data}, nil, nulls, 0)
	defer d.Release()
	return array.NewStringData(d)
}
