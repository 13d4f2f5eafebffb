package features

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Each column type gives the array Arrow's builder gives for the same
// values (nulls included), at every length around the bitmap's bytes, and
// starts afresh after array().
func TestColumnsMatchArrowBuilders(t *testing.T) {
	mem := memory.NewGoAllocator()
	same := func(name string, n int, got arrow.Array, b array.Builder) {
		t.Helper()
		want := b.NewArray()
		defer want.Release()
		defer got.Release()
		if !array.Equal(got, want) || got.NullN() != want.NullN() || got.Len() != n {
			t.Fatalf("%s, %d rows: %v (nulls %d), builder %v (nulls %d)", name, n, got, got.NullN(), want, want.NullN())
		}
		for i := range n {
			if got.IsValid(i) != want.IsValid(i) {
				t.Fatalf("%s row %d: valid %v, builder %v", name, i, got.IsValid(i), want.IsValid(i))
			}
		}
	}
	var f64, late f64Col
	var i64 i64Col
	var d32 date32Col
	var bl boolCol
	var str strCol
	for _, n := range []int{0, 1, 7, 8, 9, 17, 64, 100} {
		fb, lb, ib, db := array.NewFloat64Builder(mem), array.NewFloat64Builder(mem), array.NewInt64Builder(mem), array.NewDate32Builder(mem)
		bb, sb := array.NewBooleanBuilder(mem), array.NewStringBuilder(mem)
		if n > 50 {
			f64.reserve(n)
			str.reserve(n)
			bl.reserve(n)
		}
		for i := range n {
			v := float64(i) * 1.5
			if i%3 == 1 {
				nullable(&f64, math.NaN())
				fb.AppendNull()
			} else {
				nullable(&f64, v)
				fb.Append(v)
			}
			if i >= 13 && i%4 != 2 { // the first null after valid rows that end mid-byte
				late.AppendNull()
				lb.AppendNull()
			} else {
				late.Append(v)
				lb.Append(v)
			}
			i64.Append(int64(i) - 5)
			ib.Append(int64(i) - 5)
			d32.Append(arrow.Date32(19000 + i))
			db.Append(arrow.Date32(19000 + i))
			bl.Append(i%5 == 0)
			bb.Append(i%5 == 0)
			s := string(rune('a' + i%26))
			if i%4 == 0 {
				s = ""
			}
			str.Append(s)
			sb.Append(s)
		}
		same("float64", n, f64.array(), fb)
		same("float64, nulls from row 13", n, late.array(), lb)
		i := i64.array()
		if i.Data().Buffers()[0] != nil {
			t.Errorf("int64, %d rows: a bitmap for a column without nulls", n)
		}
		same("int64", n, i, ib)
		same("date32", n, d32.array(), db)
		same("bool", n, bl.array(), bb)
		same("string", n, str.array(), sb)
	}
}
