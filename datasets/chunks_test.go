package datasets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readResult is everything a read of a transactions file gives.
type readResult struct {
	Rows    []Transaction
	Printed []string // customers or feedback rows, printed
	Bad     []BadRow
	St      FileStats
	Err     string
}

func readWith(t testing.TB, in string, opt ReadOptions, strict bool) readResult {
	t.Helper()
	var res readResult
	var bad func(BadRow) error
	if !strict {
		bad = func(b BadRow) error { res.Bad = append(res.Bad, b); return nil }
	}
	st, err := ReadTransactions(context.Background(), "f.csv", strings.NewReader(in), opt, func(tx Transaction) error {
		res.Rows = append(res.Rows, tx)
		return nil
	}, bad)
	res.St = st
	if err != nil {
		res.Err = err.Error()
		var de *DataError
		if !errors.As(err, &de) {
			t.Fatalf("non-data error from a reader of bytes: %v", err)
		}
	}
	return res
}

// sameAsSequential reads in sequentially and in parallel with several
// chunk sizes and worker counts, and fails on any difference.
func sameAsSequential(t testing.TB, in string, opt ReadOptions, chunks ...int) {
	t.Helper()
	for _, strict := range []bool{false, true} {
		opt.Workers, opt.chunk = 0, 0
		want := readWith(t, in, opt, strict)
		for _, chunk := range chunks {
			for _, workers := range []int{2, 3} {
				opt.Workers, opt.chunk = workers, chunk
				got := readWith(t, in, opt, strict)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("strict %v, chunk %d, %d workers: parallel read differs from sequential (-want +got):\n%s\ninput:\n%q", strict, chunk, workers, diff, in)
				}
			}
		}
	}
}

func TestParallelReadMatchesSequential(t *testing.T) {
	chunks := []int{1, 2, 3, 5, 8, 13, 40, 1 << 20}
	cases := map[string]struct {
		in  string
		opt ReadOptions
	}{
		"plain":                                  {in: "customer_id,ts,amount,category\nc1,2024-01-01,1.00,toys\nc2,2024-01-02,2.50,garden\nc1,2024-02-01,3,toys\n"},
		"crlf, no final newline, trailing cr":    {in: "customer_id,ts,amount\r\nc1,2024-01-01,1.00\r\n\r\nc2,2024-01-02,2.00\r\nc3,2024-01-03,3.00\r"},
		"blank and space lines":                  {in: "customer_id,ts,amount\n\n\nc1,2024-01-01,1.00\n   \nc2,2024-01-02,2\n\n"},
		"quoted fields with newlines and quotes": {in: "customer_id,ts,amount,category\n\"c,1\",2024-01-01,\"1,000.00\",\"a\nb\"\n\"c\"\"2\",2024-01-02,2.00,\"x\r\ny\"\nc3,2024-01-03,3.00,plain\n"},
		"bare quote and bad quote":               {in: "customer_id,ts,amount\nc\"1,2024-01-01,1.00\nc2,2024-01-02,2.00\n\"c3\"x,2024-01-03,3.00\nc4,2024-01-04,4.00\n\"c5\"\r,2024,1\nc6,2024-01-06,6.00\n"},
		"unclosed quote at the end":              {in: "customer_id,ts,amount\nc1,2024-01-01,1.00\n\"c2,2024-01-02,2.00\nc3,2024-01-03,3.00\n"},
		"multi-line quoted header":               {in: "\n\"customer\nid\",ts,amount\nc1,2024-01-01,1.00\nc2,bad-date,2.00\n", opt: ReadOptions{Map: ColumnMap{KeyCustomerID: "customer\nid"}}},
		"bad rows and field counts": {in: "customer_id,ts,amount\nc1,2024-01-01,x\nc2,2024-01-02\nc3,2024-01-03,3.00,extra\n,2024-01-04,4\nc5,2099-01-01,5\nc6,2024-01-06,6\n",
			opt: ReadOptions{NotAfter: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"semicolons and decimal commas": {in: "customer_id;ts;amount\nc1;2024-01-01;1,50\nc2;2024-01-02;\"1.234,56\"\nc3;2024-01-03;2,00\n"},
		"tabs":                          {in: "customer_id\tts\tamount\nc1\t2024-01-01\t1.5\nc2\t2024-01-02\t2\n"},
		// Shopify: order-level fields on an order's first line only, a
		// cancelled order, an order-level refund, lines of one order cut
		// into different chunks.
		"fill-down": {in: "Name,Email,Created at,Financial Status,Cancelled at,Refunded Amount,Lineitem quantity,Lineitem price,Lineitem sku\n" +
			"#1001,a@x.com,2024-01-01 10:00:00 +0000,paid,,,1,10.00,S1\n#1001,,,,,,2,5.00,S2\n#1001,,,,,,1,1.00,S3\n" +
			"#1002,b@x.com,2024-01-02 10:00:00 +0000,refunded,2024-01-05 10:00:00 +0000,,1,20.00,S1\n#1002,,,,,,1,3.00,S4\n" +
			"#1003,a@x.com,2024-01-03 10:00:00 +0000,partially_refunded,,4.00,1,8.00,S2\n#1003,,,,,,3,2.00,S5\n#1003,,,,,,1,2.00,S6\n" +
			"#1004,,2024-01-04 10:00:00 +0000,paid,,,1,9.00,S1\n#1004,c@x.com,,,,,1,1.00,S2\n",
			opt: ReadOptions{Map: ColumnMap{KeyOrderID: "Name", KeyEmail: "Email", KeyTS: "Created at", KeyStatus: "Financial Status", KeyCancelledAt: "Cancelled at",
				KeyRefunded: "Refunded Amount", KeyQuantity: "Lineitem quantity", KeyUnitPrice: "Lineitem price", KeyProductID: "Lineitem sku"}, GuestKey: GuestKeyEmail}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { sameAsSequential(t, c.in, c.opt, chunks...) })
	}
}

// TestParallelReadGeneratedShop compares the two reads on a generated shop.
func TestParallelReadGeneratedShop(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(context.Background(), SyntheticConfig{Customers: 300, Seed: 7}, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	res := readWith(t, string(b), ReadOptions{}, false)
	if len(res.Rows) < 1000 || res.Err != "" {
		t.Fatalf("generated shop read %d rows, error %q", len(res.Rows), res.Err)
	}
	sameAsSequential(t, string(b), ReadOptions{}, 1000, 4096, 1<<16)
}

func FuzzParallelRead(f *testing.F) {
	f.Add("customer_id,ts,amount\nc1,2024-01-01,1.00\n\"c\n2\",2024-01-02,2\n", uint8(3))
	f.Add("order_id,email,ts,amount,status\n1,a@x,2024-01-01,1,paid\n1,,,2,\n2,b@x,2024-01-02,3,cancelled\n2,,,4,\n", uint8(9))
	f.Add("customer_id;ts;amount\nc\"1;2024-01-01;1\n\"c2\"x;2024-01-02;2\r\nc3;2024-01-03;3", uint8(5))
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		sameAsSequential(t, in, ReadOptions{GuestKey: GuestKeyEmail}, int(chunk)+1)
	})
}

// TestParallelTablesMatchSequential reads customers and feedback files,
// with bad rows among them, sequentially and in parallel chunks.
func TestParallelTablesMatchSequential(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(context.Background(), SyntheticConfig{Customers: 200, Seed: 5}, dir); err != nil {
		t.Fatal(err)
	}
	spoil := func(name string, lines map[int]string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		rows := strings.Split(string(b), "\n")
		for i, l := range lines {
			rows[i] = l
		}
		path := filepath.Join(dir, "spoilt-"+name)
		if err := os.WriteFile(path, []byte(strings.Join(rows, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	customers := spoil("customers.csv", map[int]string{3: `"x"y,bad quote`, 7: ",2024-01-01,,,", 9: `c9,"multi` + "\n" + `line",,,`})
	feedback := spoil("feedback.csv", map[int]string{2: "00000001,not-a-date,nps,9", 5: "00000002,2024-01-01,nps,11", 8: "00000003,2024-01-01,??,1"})
	read := func(path string, opt ReadOptions, strict bool, table string) readResult {
		var res readResult
		var bad func(BadRow) error
		if !strict {
			bad = func(b BadRow) error { res.Bad = append(res.Bad, b); return nil }
		}
		var rows []any
		var err error
		if table == "customers" {
			res.St, err = ReadCustomerFile(context.Background(), path, opt, func(c Customer) error { rows = append(rows, c); return nil }, bad)
		} else {
			res.St, err = ReadFeedbackFile(context.Background(), path, opt, func(f Feedback) error {
				if f.Score != f.Score {
					f.Score = -1 // NaN ≠ NaN
				}
				rows = append(rows, f)
				return nil
			}, bad)
		}
		if err != nil {
			res.Err = err.Error()
		}
		for _, r := range rows {
			res.Printed = append(res.Printed, fmt.Sprintf("%+v", r))
		}
		return res
	}
	for _, c := range []struct{ table, path string }{{"customers", customers}, {"feedback", feedback}} {
		for _, strict := range []bool{false, true} {
			want := read(c.path, ReadOptions{}, strict, c.table)
			if !strict && (len(want.Bad) != 3 || len(want.Printed) < 150) {
				t.Fatalf("%s: %d rows, bad rows %+v", c.table, len(want.Printed), want.Bad)
			}
			for _, chunk := range []int{1, 7, 100, 4096} {
				got := read(c.path, ReadOptions{Workers: 3, chunk: chunk}, strict, c.table)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%s, strict %v, chunk %d: parallel read differs (-want +got):\n%s", c.table, strict, chunk, diff)
				}
			}
		}
	}
}

// After a stretch with quotes the record scanner goes back to the fast
// path (resuming at the last record boundary), and the cuts stay at
// record boundaries: a newline inside quotes never cuts.
func TestChunkerResumesFastPath(t *testing.T) {
	text := "\"a\nb\",1\nc,2\n\"d\"\"e\",3\nf,4\ng,5"
	c := &chunker{r: strings.NewReader(text), delim: ',', size: 12}
	var got []string
	for {
		chunk, _, err := c.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, chunk)
		if c.state != sRecord || c.pos > len(c.buf) {
			t.Fatalf("after %q the scanner is in state %d at %d of %d", chunk, c.state, c.pos, len(c.buf))
		}
	}
	if strings.Join(got, "") != text {
		t.Fatalf("chunks %q do not add up to the text", got)
	}
	for _, ch := range got[:len(got)-1] {
		if !strings.HasSuffix(ch, "\n") || strings.Count(ch, "\"")%2 != 0 {
			t.Fatalf("chunk %q does not end at a record boundary", ch)
		}
	}
	if got[0] != "\"a\nb\",1\nc,2\n" {
		t.Fatalf("first chunk %q", got[0])
	}
}

// splitFields splits as strings.Split does, for every delimiter and for
// fields and lines of every length around the eight-byte steps.
func FuzzSplitFields(f *testing.F) {
	for _, s := range []string{"", ",", "a,b", "customer,order,2024-01-02T10:00:00Z,12.50,1,P1,tea,web", ",,,,,,,,,", "é,客户,\\x00,\\x7f\\x80,\\xff"} {
		f.Add(s, byte(','))
	}
	f.Add("a;b;;c;d;e;f;g;h;i;j", byte(';'))
	f.Add("a\tb\t\tc", byte('\t'))
	f.Add("\x00\x01\x00\x80\x81\x00", byte(0))
	f.Add("\xff\xfe\xff\x7f\x80\xff\xff\xff\xff", byte(0xff))
	f.Fuzz(func(t *testing.T, l string, d byte) {
		got := splitFields(nil, l, d)
		want := strings.Split(l, string([]byte{d}))
		if !slices.Equal(got, want) {
			t.Errorf("splitFields(%q, %q) = %q, want %q", l, d, got, want)
		}
	})
}

// Random lines over bytes next to the delimiter's, and to 0x00, 0x7f,
// 0x80 and 0xff, where a word-at-a-time search could flag a byte falsely.
func TestSplitFieldsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		d := byte(rng.IntN(256))
		alphabet := []byte{d, d - 1, d + 1, d ^ 0x80, 0, 1, 0x7f, 0x80, 0xff, 'a'}
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := splitFields(nil, string(b), d), strings.Split(string(b), string([]byte{d})); !slices.Equal(got, want) {
			t.Fatalf("splitFields(%q, %q) = %q, want %q", b, d, got, want)
		}
	}
}

// A generated shop, and a Shopify export whose orders' fields are filled
// down, read into the warehouse in small chunks on two workers commit the
// same files as a row-by-row read: the parsers' rows go straight into
// spill parts whose buffers go round from chunk to chunk, each part's rows
// are spilled relative to the rows before them in that part only, and a
// chunk parsed again with the state before it gets new parts.
func TestParallelWarehouseMatchesSequential(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(context.Background(), SyntheticConfig{Customers: 400, Seed: 11}, dir); err != nil {
		t.Fatal(err)
	}
	var shopify strings.Builder
	shopify.WriteString("Name,Email,Created at,Financial Status,Refunded Amount,Lineitem quantity,Lineitem price,Lineitem sku\n")
	for o := range 300 {
		fmt.Fprintf(&shopify, "#%d,c%d@x.com,2024-%02d-%02d 10:00:00 +0000,%s,%s,1,%d.00,S%d\n", 1000+o, o%37, 1+o%12, 1+o%28,
			[]string{"paid", "paid", "refunded", "partially_refunded"}[o%4], []string{"", "", "", "2.00"}[o%4], 5+o%9, o%5)
		for l := range o % 4 {
			fmt.Fprintf(&shopify, "#%d,,,,,%d,%d.50,S%d\n", 1000+o, 1+l, 2+l, l)
		}
	}
	shopifyPath := writeFile(t, dir, "shopify.csv", []byte(shopify.String()))
	shopifyMap := ColumnMap{KeyOrderID: "Name", KeyEmail: "Email", KeyTS: "Created at", KeyStatus: "Financial Status",
		KeyRefunded: "Refunded Amount", KeyQuantity: "Lineitem quantity", KeyUnitPrice: "Lineitem price", KeyProductID: "Lineitem sku"}
	for _, in := range []struct {
		path string
		opt  ReadOptions
	}{
		{filepath.Join(dir, "transactions.csv"), ReadOptions{}},
		{shopifyPath, ReadOptions{Map: shopifyMap, GuestKey: GuestKeyEmail}},
	} {
		opt := in.opt
		opt.Workers = 1
		want := commitWarehouse(t, in.path, 4, opt)
		if want.Err != "" || want.Info.Rows < 500 {
			t.Fatalf("%s: %d rows, error %q", in.path, want.Info.Rows, want.Err)
		}
		for _, chunk := range []int{100, 512, 4096, 1 << 20} {
			opt.Workers, opt.chunk = 2, chunk
			if diff := cmp.Diff(want, commitWarehouse(t, in.path, 4, opt)); diff != "" {
				t.Errorf("%s, chunks of %d bytes: the parallel read commits differently (-row by row +parallel):\n%s", in.path, chunk, diff)
			}
		}
	}
}

// Customers and feedback exports read from any bytes: no panic, only data
// errors, every bad row counted is delivered, every row read is loaded or
// bad, and a parallel read in small chunks gives the sequential read.
func FuzzReadTables(f *testing.F) {
	f.Add("customer_id,signup_ts,email,country,tier\nc1,2024-01-01,a@x.com,DE,gold\n\"c\n2\",2024-01-02,,FR,\n", uint8(5))
	f.Add("customer_id,ts,kind,score\n1,2024-01-01,nps,9\n2,2024-01-02,csat,6\n3,bad,nps,11\n\"4,2024-01-04,ces,3\n", uint8(3))
	f.Add("id;date;type;value\nx;2024-01-01;complaint;\ny;2024-01-02;survey;\n", uint8(7))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		path := writeFile(t, dir, "in.csv", []byte(in))
		read := func(table string, opt ReadOptions) readResult {
			var res readResult
			bad := func(b BadRow) error {
				if b.Line < 1 || b.Reason == "" {
					t.Fatalf("%s: bad row without line or reason: %+v", table, b)
				}
				res.Bad = append(res.Bad, b)
				return nil
			}
			var err error
			if table == "customers" {
				res.St, err = ReadCustomerFile(context.Background(), path, opt, func(c Customer) error {
					res.Printed = append(res.Printed, fmt.Sprintf("%+v", c))
					return nil
				}, bad)
			} else {
				res.St, err = ReadFeedbackFile(context.Background(), path, opt, func(fb Feedback) error {
					if fb.Score != fb.Score {
						fb.Score = -1 // NaN ≠ NaN
					}
					res.Printed = append(res.Printed, fmt.Sprintf("%+v", fb))
					return nil
				}, bad)
			}
			if err != nil {
				res.Err = err.Error()
				var de *DataError
				if !errors.As(err, &de) {
					t.Fatalf("%s: non-data error from a file of bytes: %v", table, err)
				}
			}
			if st := res.St; st.Bad != int64(len(res.Bad)) || (err == nil && st.Rows != st.Loaded+st.Bad+st.Guests) {
				t.Fatalf("%s: stats %+v, %d rows and %d bad rows delivered", table, st, len(res.Printed), len(res.Bad))
			}
			res.St.Bytes, res.St.SHA256 = 0, ""
			return res
		}
		for _, table := range []string{"customers", "feedback"} {
			want := read(table, ReadOptions{})
			got := read(table, ReadOptions{Workers: 2, chunk: int(chunk) + 1})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s, chunk %d: parallel read differs (-want +got):\n%s", table, int(chunk)+1, diff)
			}
		}
	})
}

// The warehouse committed from any transactions text read in parallel
// chunks is the row-by-row read's: the same files, rows and drops.
func FuzzParallelWarehouse(f *testing.F) {
	f.Add("customer_id,order_id,ts,amount,category\nc1,o1,2024-01-01,1.00,tea\nc1,o1,2024-01-01,2.00,tea\nc2,o2,2024-01-02,3,cups\nc1,o1,2024-01-01,1.00,tea\n", uint8(9))
	f.Add("order_id,email,ts,amount,status\n1,a@x,2024-01-01,1,paid\n1,,,2,\n2,b@x,2024-01-02,3,cancelled\n2,,,4,\n", uint8(3))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		path := writeFile(t, dir, "in.csv", []byte(in))
		opt := ReadOptions{Workers: 1, GuestKey: GuestKeyEmail}
		want := commitWarehouse(t, path, 3, opt)
		opt.Workers, opt.chunk = 2, int(chunk)+1
		if diff := cmp.Diff(want, commitWarehouse(t, path, 3, opt)); diff != "" {
			t.Fatalf("chunk %d: the parallel read commits differently (-row by row +parallel):\n%s", opt.chunk, diff)
		}
	})
}

// committed is what reading a file into a new warehouse gave: the read's
// stats (without the file's size and hash) or error, the commit's totals,
// and the bucket files in bucket order.
type committed struct {
	St     FileStats
	Err    string
	Info   WarehouseInfo
	Commit WarehouseCommit
	Files  [][]byte
}

// commitWarehouse reads path into a new warehouse of n buckets, bad rows
// set aside, and commits it.
func commitWarehouse(t *testing.T, path string, n int, opt ReadOptions) committed {
	t.Helper()
	work := t.TempDir()
	w, err := NewWarehouseWriter(work, n)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var c committed
	c.St, err = w.ReadFile(context.Background(), path, opt, func(BadRow) error { return nil })
	c.St.Bytes, c.St.SHA256 = 0, ""
	if err != nil {
		c.Err = err.Error()
		return c
	}
	if c.Info, c.Commit, err = w.Commit(context.Background(), work, nil); err != nil {
		t.Fatal(err)
	}
	for b := range n {
		data, err := os.ReadFile(filepath.Join(BucketDir(filepath.Join(work, WarehouseDir), b), "part-00000.parquet"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		c.Files = append(c.Files, data)
	}
	return c
}
