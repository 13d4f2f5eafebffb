package datasets

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Repeats sees a row repeat the text of the row looked at before it by
// dictionary code, never across a null, and never for plain strings.
func TestTextRepeats(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	vals := []string{"a", "a", "", "b", "b", "b", "c"} // "" is a null
	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	defer db.Release()
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	for _, v := range vals {
		if v == "" {
			db.AppendNull()
			sb.AppendNull()
			continue
		}
		if err := db.AppendString(v); err != nil {
			t.Fatal(err)
		}
		sb.Append(v)
	}
	dict, plain := db.NewArray(), sb.NewArray()
	defer dict.Release()
	defer plain.Release()
	look := func(a arrow.Array, rows []int) []bool {
		c, ok := AsText(a)
		if !ok {
			t.Fatalf("%T is not text", a)
		}
		r := c.Repeats()
		var out []bool
		for _, i := range rows {
			out = append(out, r.Same(i))
		}
		return out
	}
	all := []int{0, 1, 2, 3, 4, 5, 6}
	want := []bool{false, true, false, false, true, true, false}
	for k, got := range look(dict, all) {
		if got != want[k] {
			t.Fatalf("dictionary, every row: row %d Same = %v, want %v", all[k], got, want[k])
		}
	}
	skipped := []int{0, 3, 5, 6} // a, b, b, c: rows skipped in between
	wantSkipped := []bool{false, false, true, false}
	for k, got := range look(dict, skipped) {
		if got != wantSkipped[k] {
			t.Fatalf("dictionary, rows %v: row %d Same = %v, want %v", skipped, skipped[k], got, wantSkipped[k])
		}
	}
	for k, got := range look(plain, all) {
		if got {
			t.Fatalf("plain strings: row %d Same = true", all[k])
		}
	}
}
