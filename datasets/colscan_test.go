package datasets

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pqparquet "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// scanTestRows are n warehouse rows sorted by customer, with repeating and
// empty text, negative amounts and a spread of times.
func scanTestRows(n int) []Transaction {
	rows := make([]Transaction, n)
	for i := range rows {
		rows[i] = Transaction{
			CustomerID: fmt.Sprintf("c%05d", i/7), OrderID: fmt.Sprintf("o%d", i/3), TS: 1_600_000_000_000_000 + int64(i)*7_919_000,
			AmountCents: int64(i%101) - 20, Quantity: int32(i % 5), ProductID: fmt.Sprintf("p%d", i%37),
			Category: []string{"", "books", "toys"}[i%3], Channel: []string{"web", "", "store", "app"}[i%4],
			LineKind: []string{"", LineProduct, LineShipping}[i%3/2+i%5/4], DiscountCents: int64(i % 13), PointsEarned: int64(i % 11),
		}
		if i%9 == 0 {
			rows[i].OrderID = ""
		}
	}
	return rows
}

// writeScanTest writes rows as the warehouse does, in row groups of
// perGroup rows and small pages, so that columns' pages end at different
// rows.
func writeScanTest(t *testing.T, rows []Transaction, perGroup int64, opts ...parquet.WriterOption) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "part-00000.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := parquet.NewGenericWriter[Transaction](f, append([]parquet.WriterOption{parquet.MaxRowsPerRowGroup(perGroup), parquet.PageBufferSize(600)}, opts...)...)
	if _, err := pw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// A scan of every column gives back the rows written, across pages that
// end at different rows and across row groups, in chunks no longer than a
// page; a column the file lacks is left out.
func TestColumnScanReadsBackTheRows(t *testing.T) {
	rows := scanTestRows(5003)
	path := writeScanTest(t, rows, 1500)
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRowGroups() != 4 {
		t.Fatalf("%d row groups, want 4", pf.NumRowGroups())
	}
	pf.Close()
	cols := []string{ColCustomerID, ColOrderID, ColTS, ColAmountCents, ColQuantity, ColProductID, ColCategory, ColChannel,
		ColLineKind, ColDiscount, ColPointsEarned, "no_such_column"}
	s, err := openColumnScan(path, cols...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []Transaction
	chunks := map[int]bool{}
	for s.Next() {
		c := s.Chunk()
		if slices.Contains(c.Names(), "no_such_column") {
			t.Fatal("a missing column is in the chunk")
		}
		chunks[c.N] = true
		text := func(name string) [][]byte {
			v, valid := c.Text(name)
			if len(v) != c.N || valid != nil {
				t.Fatalf("%s: %d values (validity %v) in a chunk of %d", name, len(v), valid != nil, c.N)
			}
			return v
		}
		cust, order, prod, cat, ch, kind := text(ColCustomerID), text(ColOrderID), text(ColProductID), text(ColCategory), text(ColChannel), text(ColLineKind)
		ts, amt, disc, pe, qty := c.Int64s(ColTS), c.Int64s(ColAmountCents), c.Int64s(ColDiscount), c.Int64s(ColPointsEarned), c.Int32s(ColQuantity)
		for i := range c.N {
			got = append(got, Transaction{CustomerID: string(cust[i]), OrderID: string(order[i]), TS: ts[i], AmountCents: amt[i],
				Quantity: qty[i], ProductID: string(prod[i]), Category: string(cat[i]), Channel: string(ch[i]), LineKind: string(kind[i]),
				DiscountCents: disc[i], PointsEarned: pe[i]})
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, want %d", len(got), len(rows))
	}
	for i := range rows {
		if got[i] != rows[i] {
			t.Fatalf("row %d: got %+v, want %+v", i, got[i], rows[i])
		}
	}
	if len(chunks) < 3 {
		t.Errorf("chunk lengths %v: want pages of different columns to end at different rows", chunks)
	}
	if s.Next() {
		t.Error("Next after the end")
	}

	// A bucket without rows (more buckets than customers) scans as empty.
	empty, err := openColumnScan(writeScanTest(t, nil, 1500), cols...)
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if empty.Next() || empty.Err() != nil || empty.Rows() != 0 {
		t.Errorf("an empty file: Next, %v, %d rows", empty.Err(), empty.Rows())
	}
}

// Optional columns, written as the snapshots are (pqarrow, from Arrow
// columns with nulls), read back with their nulls: NaN, 0 or nil and the
// validity; across row groups and pages that end at different rows.
func TestColumnScanOptionalColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	const n = 5000
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "q", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "r", Type: arrow.PrimitiveTypes.Float64}, // required
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	null := func(k, i int) bool { return (i*(k+3))%(7+k) == 0 || i/400%5 == k } // some runs of nulls, some scattered
	for i := range n {
		for k := range 4 {
			if null(k, i) {
				b.Field(k).AppendNull()
				continue
			}
			switch k {
			case 0:
				b.Field(0).(*array.Float64Builder).Append(float64(i) / 4)
			case 1:
				b.Field(1).(*array.Int64Builder).Append(int64(i) - 2500)
			case 2:
				b.Field(2).(*array.Int32Builder).Append(int32(i % 97))
			case 3:
				b.Field(3).(*array.StringBuilder).Append(fmt.Sprint("v", i%13))
			}
		}
		b.Field(4).(*array.Float64Builder).Append(float64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	tbl := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	defer tbl.Release()
	path := filepath.Join(t.TempDir(), "opt.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := pqparquet.NewWriterProperties(pqparquet.WithDataPageSize(700), pqparquet.WithDictionaryDefault(false), pqparquet.WithAllocator(mem))
	if err := pqarrow.WriteTable(tbl, f, 1800, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem))); err != nil {
		t.Fatal(err)
	}
	s, err := openColumnScan(path, "f", "i", "q", "s", "r")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	row, lengths := 0, map[int]bool{}
	for c, err := range s.Chunks() {
		if err != nil {
			t.Fatal(err)
		}
		lengths[c.N] = true
		fv, iv, qv, rv := c.Float64s("f"), c.Int64s("i"), c.Int32s("q"), c.Float64s("r")
		sv, svalid := c.Text("s")
		if c.Valid("r") != nil {
			t.Fatal("a required column with a validity slice")
		}
		for k := range c.N {
			i := row + k
			for col, valid := range [][]bool{c.Valid("f"), c.Valid("i"), c.Valid("q"), svalid} {
				if valid[k] == null(col, i) {
					t.Fatalf("row %d column %d: valid %v", i, col, valid[k])
				}
			}
			wantF := float64(i) / 4
			if null(0, i) {
				wantF = math.NaN()
			}
			wantI, wantQ, wantS := int64(i)-2500, int32(i%97), fmt.Sprint("v", i%13)
			if null(1, i) {
				wantI = 0
			}
			if null(2, i) {
				wantQ = 0
			}
			if null(3, i) {
				wantS = ""
			}
			if math.Float64bits(fv[k]) != math.Float64bits(wantF) || iv[k] != wantI || qv[k] != wantQ || string(sv[k]) != wantS || (sv[k] == nil) != null(3, i) || rv[k] != float64(i) {
				t.Fatalf("row %d: %v %v %v %q %v", i, fv[k], iv[k], qv[k], sv[k], rv[k])
			}
		}
		row += c.N
	}
	if row != n || len(lengths) < 3 {
		t.Fatalf("%d rows in chunks of %v", row, lengths)
	}
}

// A column the scan cannot read (repeated, a timestamp in another unit)
// is a DataError naming the file and column; a damaged page is a DataError
// naming the file, never a panic; a file with none of the columns is an
// error.
func TestColumnScanErrors(t *testing.T) {
	dir := t.TempDir()
	type repeated struct {
		CustomerID []string `parquet:"customer_id"`
	}
	type millis struct {
		TS int64 `parquet:"ts,timestamp(millisecond:utc)"`
	}
	write := func(name string, rows any) string {
		path := filepath.Join(dir, name)
		var err error
		switch r := rows.(type) {
		case []repeated:
			err = parquet.WriteFile(path, r)
		case []millis:
			err = parquet.WriteFile(path, r)
		}
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		path, col, want string
	}{
		{write("repeated.parquet", []repeated{{[]string{"a", "b"}}, {nil}}), ColCustomerID, "repeated or nested"},
		{write("millis.parquet", []millis{{1}}), ColTS, "must be a timestamp in microseconds"},
	} {
		_, err := openColumnScan(tc.path, tc.col)
		var de *DataError
		if !errors.As(err, &de) || de.File != tc.path || de.Field != tc.col || !strings.Contains(de.Msg, tc.want) {
			t.Errorf("%s: got %v, want a DataError on %s naming %q", tc.path, err, tc.col, tc.want)
		}
	}
	if _, err := openColumnScan(write("none.parquet", []millis{{1}}), ColCustomerID); err == nil {
		t.Error("a file with none of the columns: want an error")
	}

	// Damage a good file's pages (zstd, as the warehouse writes them): 64
	// bytes at a time at 40 places before its footer, then single bytes
	// every 97 from byte 3,800 to 15,000 (where arrow-go's decoders met
	// nil pointers at five places when this test was written). Each scan
	// ends in a DataError naming the file, or reads every row (the damage
	// in a column not read, or in values that still decode: Parquet pages
	// carry no checksum); never a panic.
	path := writeScanTest(t, scanTestRows(4000), 4000, parquet.Compression(newFileZstd(zstd.SpeedFastest)))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	footer := int(pf.MetaData().GetSourceFileSize()) - int(pf.MetaData().Size()) - 8
	pf.Close()
	damaged := func(at, n int) (failed, recovered bool) {
		b := slices.Clone(good)
		for i := at; i < at+n; i++ {
			b[i] ^= 0x5a
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := openColumnScan(path, ColCustomerID, ColOrderID, ColTS, ColAmountCents, ColLineKind, ColQuantity, ColCategory, ColChannel, ColProductID)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rows := 0
		err = nil // the iterator's last word, which must be the scan's
		for c, e := range s.Chunks() {
			if e != nil {
				if c != nil {
					t.Fatal("a chunk with the error")
				}
				err = e
				break
			}
			rows += c.N
		}
		if err != s.Err() {
			t.Fatalf("Chunks ended on %v, the scan on %v", err, s.Err())
		}
		var de *DataError
		switch {
		case err == nil && rows == 4000:
			return false, false
		case errors.As(err, &de) && de.File == path:
			return true, strings.Contains(de.Msg, "runtime error")
		}
		t.Fatalf("damage at byte %d: got %v after %d rows, want a DataError naming %s", at, err, rows, path)
		return
	}
	failed, recovered := 0, 0
	for k := range 40 {
		if f, _ := damaged(4+k*(footer-4-64)/40, 64); f {
			failed++
		}
	}
	for at := 3800; at < min(15000, footer); at += 97 {
		if f, r := damaged(at, 1); f {
			failed++
			if r {
				recovered++
			}
		}
	}
	if failed < 10 {
		t.Errorf("only %d damaged files failed to read", failed)
	}
	t.Logf("%d damaged files failed to read, %d of them by a decoder's panic", failed, recovered)
}

// ChunkFromRecord views plain and dictionary text (nulls nil, with a
// validity slice), int64s, int32s and microsecond timestamps (nulls 0) and
// float64s (nulls NaN) of a sliced record, leaving other types out; a
// timestamp in another unit is an error.
func TestChunkFromRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "d", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "q", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"skip", "ab", "", "x", "cde"}, []bool{true, true, true, false, true})
	db := b.Field(1).(*array.BinaryDictionaryBuilder)
	for _, v := range []string{"w", "v", "", "v", "w"} {
		if v == "" {
			db.AppendNull()
		} else if err := db.AppendString(v); err != nil {
			t.Fatal(err)
		}
	}
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{9, -1, 2, 3, 4}, []bool{true, true, false, true, true})
	b.Field(3).(*array.Int32Builder).AppendValues([]int32{9, 1, 2, 3, 4}, []bool{true, false, true, true, true})
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{9, 10, 20, 30, 40}, nil)
	b.Field(5).(*array.Float64Builder).AppendValues([]float64{1, 2, 3, 4, 5}, []bool{true, true, false, true, true})
	b.Field(6).(*array.BooleanBuilder).AppendValues([]bool{true, false, true, false, true}, nil)
	full := b.NewRecordBatch()
	defer full.Release()
	rec := full.NewSlice(1, 5)
	defer rec.Release()
	c, err := ChunkFromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.N != 4 || !slices.Equal(c.Names(), []string{"d", "f", "i", "q", "s", "t"}) {
		t.Fatalf("N %d, columns %v", c.N, c.Names())
	}
	s, sv := c.Text("s")
	if fmt.Sprintf("%q %v %v", s, sv, s[2] == nil) != `["ab" "" "" "cde"] [true true false true] true` {
		t.Errorf("s: %q %v", s, sv)
	}
	d, dv := c.Text("d")
	if fmt.Sprintf("%q %v", d, dv) != `["v" "" "v" "w"] [true false true true]` {
		t.Errorf("d: %q %v", d, dv)
	}
	if !slices.Equal(c.Int64s("i"), []int64{-1, 0, 3, 4}) || !slices.Equal(c.Int32s("q"), []int32{0, 2, 3, 4}) ||
		!slices.Equal(c.Int64s("t"), []int64{10, 20, 30, 40}) {
		t.Errorf("i %v q %v t %v", c.Int64s("i"), c.Int32s("q"), c.Int64s("t"))
	}
	if f := c.Float64s("f"); len(f) != 4 || f[0] != 2 || !math.IsNaN(f[1]) || f[2] != 4 || f[3] != 5 {
		t.Errorf("f %v", f)
	}
	if v, valid := c.Text("i"); v != nil || valid != nil || c.Int64s("s") != nil || c.Int32s("f") != nil || c.Float64s("i") != nil {
		t.Error("a column read as another kind")
	}

	ms := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond}}}, nil)
	mb := array.NewRecordBuilder(mem, ms)
	defer mb.Release()
	mb.Field(0).(*array.TimestampBuilder).Append(1)
	mrec := mb.NewRecordBatch()
	defer mrec.Release()
	if _, err := ChunkFromRecord(mrec); err == nil || !strings.Contains(err.Error(), "microseconds") {
		t.Errorf("millisecond timestamps: got %v", err)
	}
	// RecordChunks: the good record's chunk, then the bad one's error, and
	// nothing after it.
	var seen []string
	for c, err := range RecordChunks([]arrow.RecordBatch{rec, mrec, rec}) {
		if err != nil {
			seen = append(seen, fmt.Sprintf("error %v", c == nil))
			continue
		}
		seen = append(seen, fmt.Sprint(c.N))
	}
	if fmt.Sprint(seen) != "[4 error true]" {
		t.Errorf("RecordChunks gave %v", seen)
	}
}
