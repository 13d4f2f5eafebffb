package features

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
)

// Text columns read as dictionaries (datasets.OpenWarehouseBucketDict)
// give the same snapshot as plain strings.
func TestDictionaryTextColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	plain := richBatch(t, mem, richFixture)
	defer plain.Release()
	fields := plain.Schema().Fields()
	cols := make([]arrow.Array, len(fields))
	for j, f := range fields {
		c := plain.Column(j)
		if s, ok := c.(*array.String); ok && f.Name != datasets.ColOrderID {
			db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
			for i := range s.Len() {
				if err := db.AppendString(s.Value(i)); err != nil {
					t.Fatal(err)
				}
			}
			cols[j] = db.NewArray()
			fields[j].Type = cols[j].DataType()
			db.Release()
		} else {
			c.Retain()
			cols[j] = c
		}
	}
	dict := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, plain.NumRows())
	defer dict.Release()
	for _, c := range cols {
		c.Release()
	}
	build := func(rec arrow.RecordBatch) arrow.RecordBatch {
		b, err := NewBuilder(mem, Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Tiers: testTiers})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		b.SetFeedback(feedbackAt(t))
		if err := b.Add(rec); err != nil {
			t.Fatal(err)
		}
		return b.Finish()
	}
	a, b := build(plain), build(dict)
	defer a.Release()
	defer b.Release()
	if _, ok := dict.Column(0).(*array.Dictionary); !ok {
		t.Fatal("the customer ids are not a dictionary")
	}
	for c := range int(a.NumCols()) {
		for i := range int(a.NumRows()) {
			if x, y := a.Column(c).ValueStr(i), b.Column(c).ValueStr(i); x != y {
				t.Errorf("%s[%d]: plain %s, dictionary %s", a.ColumnName(c), i, x, y)
			}
		}
	}
}
