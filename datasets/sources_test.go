package datasets

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// readFile reads a transactions file, collecting good and bad rows.
func readFile(t *testing.T, path string, opt ReadOptions) (FileStats, []Transaction, []BadRow) {
	t.Helper()
	var rows []Transaction
	var bad []BadRow
	st, err := ReadTransactionFile(context.Background(), path, opt, func(tx Transaction) error {
		rows = append(rows, tx)
		return nil
	}, func(b BadRow) error {
		bad = append(bad, b)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st, rows, bad
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func day(y, m, d int) int64 { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).UnixMicro() }

// The same three order lines, as different shop systems export them, must
// all give the same canonical rows.
func TestReadTransactionFormats(t *testing.T) {
	want := []Transaction{
		{CustomerID: "007", OrderID: "A1", TS: day(2024, 3, 5), AmountCents: 123450, Quantity: 2},
		{CustomerID: "007", OrderID: "A1", TS: day(2024, 3, 5), AmountCents: -1250, Quantity: 1},
		{CustomerID: "客户8", OrderID: "B2", TS: day(2024, 3, 6), AmountCents: 99, Quantity: 1},
	}
	gbk := func(s string) []byte { // GBK has no ¥ (U+00A5); Chinese Excel writes ￥
		b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(strings.ReplaceAll(s, "¥", "￥")))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	utf16 := func(s string) []byte {
		b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	zst := func(b []byte) []byte {
		w, _ := zstd.NewWriter(nil)
		defer w.Close()
		return w.EncodeAll(b, nil)
	}
	plain := "customer_id,order_id,ts,amount,quantity\n007,A1,2024-03-05,1234.50,2\n007,A1,2024-03-05,-12.50,1\n客户8,B2,2024-03-06,0.99,1\n"
	excel := "\ufeffKunde;Bestellung;Datum;Betrag;Menge\r\n007;A1;05.03.2024;1.234,50 €;2\r\n007;A1;05.03.2024;-12,50 €;1\r\n客户8;B2;06.03.2024;0,99 €;1\r\n"
	chinese := "会员号,订单号,交易时间,消费金额,数量\n007,A1,2024年3月5日,¥1,234.50,2\n007,A1,2024/03/05,-¥12.50,1\n客户8,B2,2024/3/6,￥0.99,1\n"
	chineseQuoted := strings.NewReplacer("¥1,234.50", `"¥1,234.50"`).Replace(chinese)
	tabs := "Customer ID\tOrder No\tOrder Date\tOrder Total\tQty\n007\tA1\t3/5/2024\t$1,234.50\t2\n007\tA1\t3/5/2024\t($12.50)\t1\n客户8\tB2\t3/6/2024\t$0.99\t1\n"
	pipes := "customer|order|date|sales|qty\n007|A1|20240305|1234.5|2\n007|A1|20240305|-12.5|1\n客户8|B2|20240306|.99|1\n"
	excelMap := ReadOptions{Map: ColumnMap{KeyCustomerID: "Kunde", KeyOrderID: "Bestellung", KeyTS: "Datum", KeyAmount: "Betrag", KeyQuantity: "Menge"},
		Values: ValueOptions{DateOrder: DateOrderDMY}}
	tests := []struct {
		name, file string
		data       []byte
		opt        ReadOptions
		format     string
	}{
		{"plain", "a.csv", []byte(plain), ReadOptions{}, "CSV, UTF-8, delimiter ','"},
		{"excel semicolon bom crlf decimal comma", "excel.csv", []byte(excel), excelMap, "CSV, UTF-8 with BOM, delimiter ';'"},
		{"chinese headers quoted", "cn.csv", []byte(chineseQuoted), ReadOptions{}, "CSV, UTF-8, delimiter ','"},
		{"gbk from chinese excel", "gbk.csv", gbk(chineseQuoted), ReadOptions{}, "CSV, GB18030, delimiter ','"},
		{"gbk declared", "gbk2.csv", gbk(chineseQuoted), ReadOptions{SourceOptions: SourceOptions{Encoding: "gbk"}}, "CSV, GB18030, delimiter ','"},
		{"utf-16 tab export", "u16.txt", utf16(tabs), ReadOptions{Values: ValueOptions{DateOrder: DateOrderMDY}}, "CSV, UTF-16, delimiter tab"},
		{"pipes yyyymmdd", "p.csv", []byte(pipes), ReadOptions{}, "CSV, UTF-8, delimiter '|'"},
		{"gzip", "a.csv.gz", gz([]byte(plain)), ReadOptions{}, "gzip CSV, UTF-8, delimiter ','"},
		{"zstd gbk", "a.csv.zst", zst(gbk(chineseQuoted)), ReadOptions{}, "zstd CSV, GB18030, delimiter ','"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, tc.file, tc.data)
			st, rows, bad := readFile(t, path, tc.opt)
			if len(bad) > 0 {
				t.Fatalf("bad rows: %+v", bad)
			}
			if st.Format != tc.format {
				t.Errorf("format %q, want %q", st.Format, tc.format)
			}
			if len(rows) != len(want) {
				t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
			}
			for i := range want {
				if rows[i] != want[i] {
					t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
				}
			}
			size, sum, _ := FileFingerprint(path)
			if st.Bytes != size || st.SHA256 != sum || st.Rows != 3 || st.Loaded != 3 {
				t.Errorf("stats %+v; file has %d bytes, sha %s", st, size, sum)
			}
		})
	}
}

// parquetOrder is a row of an exported orders table in Parquet, with a
// Chinese column name and no canonical names; parquetOrders holds three
// (one a guest's), at parquetOrdersAt.
type parquetOrder struct {
	Member string    `parquet:"会员号,dict"` // dictionary-encoded, as exports of repeated ids often are
	Order  int64     `parquet:"order_no"`
	When   time.Time `parquet:"created_at,timestamp(millisecond:utc)"`
	Total  float64   `parquet:"total"`
	Qty    int32     `parquet:"qty,optional"`
}

var (
	parquetOrdersAt = time.Date(2024, 3, 5, 14, 22, 10, 0, time.UTC)
	parquetOrders   = []parquetOrder{{"007", 1, parquetOrdersAt, 1234.5, 2}, {"", 2, parquetOrdersAt, 1, 1}, {"8", 3, parquetOrdersAt.Add(time.Hour), -0.99, 0}}
)

// Parquet input: any column names and types (strings, integers, floats,
// timestamps with and without a zone), mapped like CSV headers.
func TestReadTransactionsParquet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.parquet")
	at := parquetOrdersAt
	if err := parquet.WriteFile(path, parquetOrders); err != nil {
		t.Fatal(err)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	st, rows, bad := readFile(t, path, ReadOptions{Values: ValueOptions{Location: shanghai}})
	// The row without a member number is a guest checkout: set aside, not bad.
	if st.Format != "Parquet" || st.Rows != 3 || st.Loaded != 2 || st.Guests != 1 || len(bad) != 0 {
		t.Fatalf("stats %+v, bad %+v", st, bad)
	}
	want := []Transaction{
		{CustomerID: "007", OrderID: "1", TS: at.UnixMicro(), AmountCents: 123450, Quantity: 2},
		{CustomerID: "8", OrderID: "3", TS: at.Add(time.Hour).UnixMicro(), AmountCents: -99},
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v (a UTC timestamp must ignore --timezone)", i, rows[i], want[i])
		}
	}
}

// The CDNOW layout with --format cdnow gives the same rows as ReadCDNOW.
func TestReadTransactionsCDNOWFormat(t *testing.T) {
	in := "00001 19970101 1 11.77\n00002 19970112 2 29.33\n00002 19970112 x 29.33\n"
	dir := t.TempDir()
	path := writeFile(t, dir, "cdnow.txt", []byte(in))
	st, rows, bad := readFile(t, path, ReadOptions{SourceOptions: SourceOptions{Format: FormatCDNOW}})
	if st.Loaded != 2 || len(bad) != 1 || bad[0].Line != 3 || bad[0].Field != "quantity" {
		t.Fatalf("stats %+v, bad %+v", st, bad)
	}
	var ref []Transaction
	if _, err := ReadCDNOW(context.Background(), path, func(tx Transaction) error { ref = append(ref, tx); return nil }); err == nil {
		t.Fatal("ReadCDNOW accepted the bad line")
	}
	for i := range ref {
		if rows[i] != ref[i] {
			t.Errorf("row %d = %+v, ReadCDNOW %+v", i, rows[i], ref[i])
		}
	}
}

// A mixed file: every bad row is reported with its exact line, column and
// reason and its raw text, and the good rows around it still load.
func TestReadTransactionsQuarantine(t *testing.T) {
	in := strings.Join([]string{
		"customer_id,ts,amount,quantity",
		"c1,2024-01-01,1.00,1",
		"c2,2024-01-32,1.00,1",   // line 3: bad day
		",2024-01-02,1.00,1",     // line 4: a guest checkout, set aside
		"c3,2024-01-03,1.0.0,1",  // line 5: bad amount
		"c4,2024-01-04,2.00",     // line 6: field count
		"c5,2024-01-05,3.00,1.5", // line 7: quantity
		"c6,2031-01-01,1.00,1",   // line 8: future
		"c7,2024-01-07,\"4,000.00\",2",
		"c8,2024-01-08,9999999,1", // line 10: absurd
		"c9,2024-01-09,5.00,",
	}, "\n") + "\n"
	dir := t.TempDir()
	path := writeFile(t, dir, "mixed.csv", []byte(in))
	st, rows, bad := readFile(t, path, ReadOptions{NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), MaxAmountCents: 100_000_00})
	type pos struct {
		line, col int
		reason    string
	}
	want := []pos{{3, 2, "day 32"}, {5, 3, "1.0.0"}, {6, 0, "3 fields"}, {7, 4, "whole number"}, {8, 2, "future"}, {10, 3, "beyond the bound"}}
	if len(bad) != len(want) {
		t.Fatalf("%d bad rows, want %d: %+v", len(bad), len(want), bad)
	}
	for i, w := range want {
		if b := bad[i]; b.Line != w.line || b.Column != w.col || !strings.Contains(b.Reason, w.reason) || b.File != path {
			t.Errorf("bad row %d = %+v, want line %d column %d reason %q", i, b, w.line, w.col, w.reason)
		}
	}
	if bad[0].Raw != "c2,2024-01-32,1.00,1" {
		t.Errorf("raw text %q", bad[0].Raw)
	}
	if st.Rows != 11-1 || st.Loaded != 3 || st.Bad != 6 || st.Guests != 1 || len(rows) != 3 || rows[1].AmountCents != 400000 {
		t.Errorf("stats %+v, rows %+v", st, rows)
	}
}

func TestExpandInputs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.csv", "a.csv", ".hidden.csv", "_SUCCESS", "c.txt"} {
		writeFile(t, dir, name, []byte("x"))
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	writeFile(t, sub, "d.csv", []byte("x"))
	rel := func(files []string) string {
		var out []string
		for _, f := range files {
			r, _ := filepath.Rel(dir, f)
			out = append(out, r)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ spec, want string }{
		{dir, "a.csv b.csv c.txt"},
		{filepath.Join(dir, "*.csv"), "a.csv b.csv"},
		{filepath.Join(dir, "b.csv") + "," + filepath.Join(sub, "*"), "b.csv sub/d.csv"},
	} {
		got, err := ExpandInputs(tc.spec)
		if err != nil || rel(got) != tc.want {
			t.Errorf("ExpandInputs(%q) = %q, %v; want %q", tc.spec, rel(got), err, tc.want)
		}
	}
	for _, spec := range []string{filepath.Join(dir, "*.parquet"), filepath.Join(dir, "nope.csv"), "", filepath.Join(dir, "empty")} {
		os.Mkdir(filepath.Join(dir, "empty"), 0o755)
		if _, err := ExpandInputs(spec); err == nil {
			t.Errorf("ExpandInputs(%q): want an error", spec)
		}
	}
}

// Generated transactions → CSV → reader → the same rows (the round trip).
func TestSyntheticRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(context.Background(), SyntheticConfig{Customers: 200, Seed: 5}, dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "transactions.csv")
	raw, _ := os.ReadFile(path)
	_, rows, bad := readFile(t, path, ReadOptions{})
	if len(bad) > 0 {
		t.Fatalf("bad rows in generated data: %+v", bad[0])
	}
	// Write the rows back in canonical text and read them again.
	var b strings.Builder
	b.WriteString("customer_id,order_id,ts,amount,quantity,product_id,category,channel,discount,points_earned,points_redeemed\n")
	discounted, redeemed := 0, 0
	for _, r := range rows {
		b.WriteString(strings.Join([]string{r.CustomerID, r.OrderID, time.UnixMicro(r.TS).UTC().Format(time.RFC3339Nano), FormatCents(r.AmountCents),
			strconv.Itoa(int(r.Quantity)), r.ProductID, r.Category, r.Channel, FormatCents(r.DiscountCents),
			strconv.FormatInt(r.PointsEarned, 10), strconv.FormatInt(r.PointsRedeemed, 10)}, ",") + "\n")
		if r.DiscountCents > 0 {
			discounted++
		}
		if r.PointsRedeemed > 0 {
			redeemed++
		}
	}
	if discounted == 0 || discounted == len(rows) {
		t.Fatalf("%d of %d lines with a discount: the generator's discount column is not read", discounted, len(rows))
	}
	if redeemed == 0 {
		t.Fatal("no line redeems loyalty points")
	}
	back := writeFile(t, dir, "back.csv", []byte(b.String()))
	_, rows2, _ := readFile(t, back, ReadOptions{})
	if len(rows2) != len(rows) || len(rows) != bytes.Count(raw, []byte("\n"))-1 {
		t.Fatalf("%d rows, round trip %d, file lines %d", len(rows), len(rows2), bytes.Count(raw, []byte("\n"))-1)
	}
	for i := range rows {
		if rows[i] != rows2[i] {
			t.Fatalf("row %d: %+v, round trip %+v", i, rows[i], rows2[i])
		}
	}
}

// FileFingerprint is the size and SHA-256 of the whole file, across its
// read buffer's boundaries.
func TestFileFingerprint(t *testing.T) {
	for _, n := range []int{0, 1, 256 << 10, 600_001} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + i/251)
		}
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		size, sum, err := FileFingerprint(path)
		want := sha256.Sum256(data)
		if err != nil || size != int64(n) || sum != hex.EncodeToString(want[:]) {
			t.Errorf("%d bytes: FileFingerprint = %d, %s, %v; want %d, %x", n, size, sum, err, n, want)
		}
	}
}

// Parquet input from damaged bytes: an error, never a panic.
func FuzzReadParquetInput(f *testing.F) {
	var b bytes.Buffer
	if err := parquet.Write(&b, parquetOrders); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:len(b.Bytes())/2])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := writeFile(t, dir, "in.parquet", data)
		st, err := ReadTransactionFile(context.Background(), path, ReadOptions{}, func(Transaction) error { return nil }, func(BadRow) error { return nil })
		if err == nil && st.Rows < st.Loaded {
			t.Fatalf("stats %+v", st)
		}
	})
}

// Transaction files of any bytes, compressed or in another encoding or
// not: no panic, every bad row counted is delivered with its line, and
// every row read is loaded, bad or a guest's.
func FuzzReadInputFile(f *testing.F) {
	csv := "customer_id,ts,amount,category\nc1,2024-01-01,1.00,tea\nc2,2024-01-02,\"2,50\",cups\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(csv))
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(csv))
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte("会员号;日期;金额\n7;2024/01/02;1,50\n"))
	for _, seed := range [][]byte{[]byte(csv), gz.Bytes(), enc.EncodeAll([]byte(csv), nil), utf16, gbk, []byte("\ufeffid|date|sales\r\n1|20240101|€3\r\n")} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := writeFile(t, dir, "in.csv", data)
		var good, bad int64
		st, _ := ReadTransactionFile(context.Background(), path, ReadOptions{Workers: 2}, func(Transaction) error { good++; return nil }, func(b BadRow) error {
			if b.Line < 1 || b.Reason == "" {
				t.Fatalf("bad row without line or reason: %+v", b)
			}
			bad++
			return nil
		})
		if st.Loaded > good || st.Bad != bad || st.Rows < st.Loaded+st.Bad {
			t.Fatalf("stats %+v, delivered %d good and %d bad", st, good, bad)
		}
	})
}
