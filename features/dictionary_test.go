package features

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
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
	sameCells(t, a, b, "plain → dictionary")
}

// Decode gives the same lines and channel names whether the category,
// channel and line-kind columns come as plain strings or, as the warehouse
// reader gives them, dictionary-encoded: with nulls, empty texts and
// non-product kinds, in batches whose dictionaries differ.
func TestDecodeDictionaryEqualsPlain(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	texts := map[string][]string{
		datasets.ColCategory: {"books", "", "toys", "garden", "home"},
		datasets.ColChannel:  {"web", "", "store", "app"},
		datasets.ColLineKind: {"", datasets.LineProduct, datasets.LineCancellation, datasets.LineShipping, datasets.LineFee},
	}
	textCols := []string{datasets.ColCategory, datasets.ColChannel, datasets.ColLineKind}
	build := func(n int) arrow.RecordBatch {
		fields := []arrow.Field{
			{Name: datasets.ColCustomerID, Type: arrow.BinaryTypes.String},
			{Name: datasets.ColOrderID, Type: arrow.BinaryTypes.String},
			{Name: datasets.ColTS, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
			{Name: datasets.ColAmountCents, Type: arrow.PrimitiveTypes.Int64},
		}
		for _, c := range textCols {
			fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true})
		}
		b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
		defer b.Release()
		rows := rand.New(rand.NewPCG(uint64(n), 21))
		for i := range n {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%06d", n*1000+i/7)) // sorted across the batches
			b.Field(1).(*array.StringBuilder).Append(string(rune('A'+rows.IntN(20))) + "1")
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)*3_600_000_000))
			b.Field(3).(*array.Int64Builder).Append(rows.Int64N(5000) - 1000)
			for k, c := range textCols {
				null := rows.IntN(6) == 0
				v := texts[c][rows.IntN(len(texts[c]))]
				if fb := b.Field(4 + k).(*array.StringBuilder); null {
					fb.AppendNull()
				} else {
					fb.Append(v)
				}
			}
		}
		return b.NewRecordBatch()
	}
	// encode returns plain with its text columns dictionary-encoded.
	encode := func(plain arrow.RecordBatch) arrow.RecordBatch {
		fields := plain.Schema().Fields()
		cols := make([]arrow.Array, len(fields))
		for j := range fields {
			c := plain.Column(j)
			if j > 0 && j < 4 { // customer ids and the text columns become dictionaries
				c.Retain()
				cols[j] = c
				continue
			}
			s := c.(*array.String)
			db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
			for i := range s.Len() {
				if s.IsNull(i) {
					db.AppendNull()
				} else if err := db.AppendString(s.Value(i)); err != nil {
					t.Fatal(err)
				}
			}
			cols[j] = db.NewArray()
			fields[j].Type = cols[j].DataType()
			db.Release()
		}
		defer func() {
			for _, c := range cols {
				c.Release()
			}
		}()
		return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, plain.NumRows())
	}
	plain, dict := NewLineDecoder(false), NewLineDecoder(false)
	for _, n := range []int{13, 40, 200} {
		p := build(n)
		d := encode(p)
		if _, ok := d.Column(4).(*array.Dictionary); !ok {
			t.Fatalf("the dictionary batch has a %T column", d.Column(4))
		}
		lp, err := plain.Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		ld, err := dict.Decode(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(lp.lines) == 0 || len(lp.lines) == n {
			t.Fatalf("%d rows gave %d lines: the fixture should drop some non-product rows", n, len(lp.lines))
		}
		if !reflect.DeepEqual(lp.lines, ld.lines) || !reflect.DeepEqual(lp.runs, ld.runs) {
			t.Errorf("%d rows: dictionary lines differ from plain ones", n)
		}
		if !maps.Equal(lp.channels, ld.channels) {
			t.Errorf("%d rows: channel names %v, plain %v", n, ld.channels, lp.channels)
		}
		p.Release()
		d.Release()
	}
}
