package features

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
)

// Text columns read as dictionaries (as pqarrow reads dictionary-typed columns)
// give the same snapshot as plain strings.
func TestDictionaryTextColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	plain := richBatch(t, mem, richFixture)
	defer plain.Release()
	var text []string // every string column but the order ids, as the warehouse reader gives them
	for _, f := range plain.Schema().Fields() {
		if f.Type.ID() == arrow.STRING && f.Name != datasets.ColOrderID {
			text = append(text, f.Name)
		}
	}
	dict := withDictionaries(t, mem, plain, text...)
	defer dict.Release()
	build := func(rec arrow.RecordBatch) arrow.RecordBatch {
		b, err := NewBuilder(Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Tiers: testTiers})
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
	plain, dict := NewLineDecoder(false), NewLineDecoder(false)
	for _, n := range []int{13, 40, 200} {
		p := build(n)
		d := withDictionaries(t, mem, p, datasets.ColCustomerID, datasets.ColCategory, datasets.ColChannel, datasets.ColLineKind)
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

// withDictionaries returns rec with the named string columns as Arrow
// dictionaries (int32 indices, nulls kept), as the warehouse reader gives
// them. The caller releases it.
func withDictionaries(t testing.TB, mem memory.Allocator, rec arrow.RecordBatch, names ...string) arrow.RecordBatch {
	t.Helper()
	fields := slices.Clone(rec.Schema().Fields())
	cols := make([]arrow.Array, len(fields))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for j, f := range fields {
		s, ok := rec.Column(j).(*array.String)
		if !ok || !slices.Contains(names, f.Name) {
			cols[j] = rec.Column(j)
			cols[j].Retain()
			continue
		}
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
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}
