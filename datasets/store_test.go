package datasets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestWarehouseRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := []Transaction{
		{CustomerID: "b", OrderID: "2", TS: 300, AmountCents: 500, Quantity: 1, Category: "x"},
		{CustomerID: "a", OrderID: "1", TS: 200, AmountCents: -100, Quantity: -1},
		{CustomerID: "a", OrderID: "1", TS: 100, AmountCents: 999, Quantity: 3, ProductID: "p", Channel: "web"},
		{CustomerID: "007", TS: 50, AmountCents: 1},
	}
	w, err := NewWarehouseWriter(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range in {
		if err := w.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	info, wc, err := w.Commit(context.Background(), dir, func(WarehouseCommit) map[string]string { return map[string]string{"k": "v"} })
	if err != nil {
		t.Fatal(err)
	}
	if wc.Dropped != 0 {
		t.Errorf("dropped %d of 4 distinct rows", wc.Dropped)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if spills, _ := filepath.Glob(filepath.Join(dir, ".ingest.tmp-*")); len(spills) != 0 {
		t.Errorf("Close left %v", spills)
	}
	if info.Rows != 4 || info.Customers != 3 || info.MinTS != 50 || info.MaxTS != 300 {
		t.Errorf("info = %+v", info)
	}
	got, err := OpenWarehouse(dir)
	if err != nil || got != info {
		t.Fatalf("OpenWarehouse = %+v, %v; want %+v", got, err, info)
	}
	var all []Transaction
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for b := 0; b < 3; b++ {
		rows, err := WarehouseBucketRows(dir, b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(rows, compareTx) {
			t.Errorf("bucket %d not sorted: %+v", b, rows)
		}
		for _, r := range rows {
			if Bucket(r.CustomerID, 3) != b {
				t.Errorf("customer %s in bucket %d", r.CustomerID, b)
			}
		}
		all = append(all, rows...)
		// The Arrow reader sees the same rows.
		rr, closeFile, err := OpenWarehouseBucket(context.Background(), dir, b, mem)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rr.Next() {
			rec := rr.RecordBatch()
			ids := rec.Column(rec.Schema().FieldIndices(ColCustomerID)[0]).(*array.String)
			for i := 0; i < ids.Len(); i++ {
				if ids.Value(i) != rows[n].CustomerID {
					t.Errorf("arrow row %d = %s, want %s", n, ids.Value(i), rows[n].CustomerID)
				}
				n++
			}
		}
		rr.Release()
		closeFile()
		if n != len(rows) {
			t.Errorf("arrow reader gave %d rows, want %d", n, len(rows))
		}
	}
	slices.SortFunc(all, compareTx)
	want := slices.Clone(in)
	slices.SortFunc(want, compareTx)
	if d := cmp.Diff(want, all); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	checkWarehouseEncodings(t, dir, 3)
}

// checkWarehouseEncodings checks which columns of the warehouse's bucket
// files keep a dictionary: the few-valued text columns do; customer_id and
// order_id, with about one value an order, are plain pages.
func checkWarehouseEncodings(t *testing.T, dir string, buckets int) {
	t.Helper()
	for b := range buckets {
		checkDictionaryPages(t, WarehouseBucketPath(dir, b), map[string]bool{ColCustomerID: false, ColOrderID: false,
			ColProductID: true, ColCategory: true, ColChannel: true, ColLineID: true, ColLineKind: true})
		checkPageBounds(t, WarehouseBucketPath(dir, b), map[string]bool{ColCustomerID: true, ColTS: true, ColAmountCents: true,
			ColOrderID: false, ColProductID: false, ColCategory: false, ColChannel: false, ColLineID: false, ColLineKind: false})
	}
}

// openColumns opens the Parquet file at path and finds the index of each
// column named in want, failing the test when one is missing; the caller
// closes the file.
func openColumns(t *testing.T, path string, want map[string]bool) (*file.Reader, map[string]int) {
	t.Helper()
	pf, err := openParquetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]int{}
	for name := range want {
		i := pf.MetaData().Schema.ColumnIndexByName(name)
		if i < 0 {
			pf.Close()
			t.Fatalf("%s has no column %s", path, name)
		}
		cols[name] = i
	}
	return pf, cols
}

// checkPageBounds checks that every data page of each named column of the
// Parquet file at path has a minimum and maximum in its header, or none
// does.
func checkPageBounds(t *testing.T, path string, bounds map[string]bool) {
	t.Helper()
	pf, cols := openColumns(t, path, bounds)
	defer pf.Close()
	md := pf.MetaData()
	for name, want := range bounds {
		i := cols[name]
		pages := 0
		for g := range md.NumRowGroups() {
			pr, err := pf.RowGroup(g).GetColumnPageReader(i)
			if err != nil {
				t.Fatal(err)
			}
			for pr.Next() {
				dp, ok := pr.Page().(file.DataPage)
				if !ok {
					continue // the dictionary page
				}
				pages++
				if st := dp.Statistics(); st.HasMin != want || st.HasMax != want {
					t.Errorf("%s column %s: page bounds %v/%v, want %v", path, name, st.HasMin, st.HasMax, want)
				}
			}
			if err := pr.Err(); err != nil {
				t.Fatal(err)
			}
		}
		if pages == 0 && md.NumRows > 0 {
			t.Errorf("%s column %s: no data pages", path, name)
		}
	}
}

// checkDictionaryPages checks that each named column of the Parquet file at
// path has a dictionary page in every row group, or in none.
func checkDictionaryPages(t *testing.T, path string, dict map[string]bool) {
	t.Helper()
	pf, cols := openColumns(t, path, dict)
	defer pf.Close()
	md := pf.MetaData()
	for name, want := range dict {
		i := cols[name]
		for g := range md.NumRowGroups() {
			cc, err := md.RowGroup(g).ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			if got := cc.HasDictionaryPage(); got != want {
				t.Errorf("%s column %s: dictionary page %v, want %v (encodings %v)", path, name, got, want, cc.Encodings())
			}
		}
	}
}

// checkManifestSums checks that the manifest of the folder dir lists every
// other file in it with its size and the SHA-256 of its bytes, read back.
func checkManifestSums(t *testing.T, dir string) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(m.Files) != len(files)-1 {
		t.Errorf("%s: the manifest lists %d files, the folder has %d beside it", dir, len(m.Files), len(files)-1)
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); f.SHA256 != hex.EncodeToString(sum[:]) || f.Bytes != int64(len(b)) {
			t.Errorf("%s: manifest %s %d bytes, the file %x %d bytes", f.Path, f.SHA256, f.Bytes, sum, len(b))
		}
	}
}

// A commit takes the sums of the files its writers hashed on the way, and
// reads back those written otherwise or changed after: a file written by
// WriteFileWith, one by WriteFileWith then appended to, one by
// os.WriteFile. Either way the manifest holds the bytes' sums, and no
// remembered sum outlives the commit.
func TestCommitFolderSumsWrittenFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var hashed string
	err := CommitFolder(dir, func(tmp string) (Manifest, error) {
		hashed = filepath.Join(tmp, "hashed.csv")
		if err := WriteFileWith(hashed, func(w io.Writer) error {
			_, err := io.WriteString(w, strings.Repeat("a,b\n", 5000))
			return err
		}); err != nil {
			return Manifest{}, err
		}
		if _, _, ok := peekSum(hashed); !ok {
			t.Error("WriteFileWith's file has no remembered sum")
		}
		appended := filepath.Join(tmp, "appended.csv")
		if err := WriteFileWith(appended, func(w io.Writer) error {
			_, err := io.WriteString(w, "x\n")
			return err
		}); err != nil {
			return Manifest{}, err
		}
		f, err := os.OpenFile(appended, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return Manifest{}, err
		}
		f.WriteString("more\n")
		f.Close()
		return Manifest{Kind: "test"}, os.WriteFile(filepath.Join(tmp, "plain.txt"), []byte("plain"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkManifestSums(t, dir)
	if _, _, ok := peekSum(hashed); ok {
		t.Error("a remembered sum outlived its commit")
	}
}

// peekSum is knownSum without forgetting.
func peekSum(path string) (int64, string, bool) {
	v, ok := writtenSums.Load(filepath.Clean(path))
	if !ok {
		return 0, "", false
	}
	w := v.(writtenSum)
	return w.size, w.sum, true
}

func TestCommitFolderFailureKeepsOld(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	write := func(content string, fail bool) error {
		return CommitFolder(dir, func(tmp string) (Manifest, error) {
			if err := os.WriteFile(filepath.Join(tmp, "a.txt"), []byte(content), 0o644); err != nil {
				return Manifest{}, err
			}
			if fail {
				return Manifest{}, errors.New("boom")
			}
			return Manifest{Kind: "test", Rows: 1}, nil
		})
	}
	if err := write("one", false); err != nil {
		t.Fatal(err)
	}
	if err := write("two", true); err == nil {
		t.Fatal("want the write error")
	}
	b, _ := os.ReadFile(filepath.Join(dir, "a.txt"))
	if string(b) != "one" {
		t.Errorf("after a failed commit the folder holds %q, want the old %q", b, "one")
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("leftovers beside the folder: %v", entries)
	}
	m, err := ReadManifest(dir)
	if err != nil || m.Kind != "test" || len(m.Files) != 1 || m.Files[0].Path != "a.txt" || m.Files[0].Bytes != 3 {
		t.Errorf("manifest = %+v, %v", m, err)
	}
	if err := write("three", false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "three" {
		t.Errorf("replace: got %q", b)
	}
}

func TestScoresRoundTrip(t *testing.T) {
	rows := []ScoreRow{
		{Rank: 1, CustomerID: "007", ChurnProbability: 0.8123, RiskTier: "high", PAlive: 0.5, ExpectedOrders: 1.234,
			PredictedCLV: 120.5, ValueAtRisk: 97.88, Segment: "At risk", Reasons: `no order for 90 days; "quoted", comma`,
			SuggestedAction: "Win-back", LastOrderDate: "2025-01-01", ExpectedNextOrderDate: "", ModelVersion: "v1", ScoredAt: "2025-12-31"},
		{Rank: 2, CustomerID: "客户42", ChurnProbability: 0.1, RiskTier: "low", Segment: "Loyal", ScoredAt: "2025-12-31"},
	}
	var buf bytes.Buffer
	if err := WriteScoresCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadScoresCSV("list.csv", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows, got); d != "" {
		t.Errorf("CSV round trip (-want +got):\n%s", d)
	}
	p := filepath.Join(t.TempDir(), "scores.parquet")
	if err := WriteScoresParquet(p, rows); err != nil {
		t.Fatal(err)
	}
	got, err = ReadScoresParquet(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows, got); d != "" {
		t.Errorf("Parquet round trip (-want +got):\n%s", d)
	}
	for _, n := range []int{0, 1, len(rows), len(rows) + 5} { // the head and the count, from the footer
		head, total, err := ReadScoresHead(p, n)
		if err != nil || total != int64(len(rows)) {
			t.Fatalf("ReadScoresHead(%d): %d rows in all, %v", n, total, err)
		}
		if d := cmp.Diff(rows[:min(n, len(rows))], head, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("ReadScoresHead(%d) (-want +got):\n%s", n, d)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	cfg := SyntheticConfig{Customers: 300, Seed: 9}
	stA, err := Generate(context.Background(), cfg, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), cfg, b); err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 10
	if _, err := Generate(context.Background(), cfg, c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"transactions.csv", "customers.csv", "feedback.csv", "truth.csv"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		z, _ := os.ReadFile(filepath.Join(c, name))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
		if bytes.Equal(x, z) {
			t.Errorf("%s is the same for different seeds", name)
		}
	}
	if stA.Customers != 300 || stA.Orders < 300 || stA.Lines < stA.Orders || stA.Refunds == 0 || stA.Feedback == 0 {
		t.Errorf("stats = %+v", stA)
	}
	// Every generated transaction row passes our own reader, ids keep leading zeros.
	var rows int64
	n, err := ReadTransactionsCSV(context.Background(), filepath.Join(a, "transactions.csv"), ReadOptions{}, func(tx Transaction) error {
		if len(tx.CustomerID) != 8 || tx.CustomerID[0] != '0' {
			t.Fatalf("customer id %q: want 8 digits with leading zeros", tx.CustomerID)
		}
		rows++
		return nil
	})
	if err != nil || n != stA.Lines+stA.Refunds {
		t.Errorf("read %d rows (%v), want lines+refunds = %d", n, err, stA.Lines+stA.Refunds)
	}
}

func TestAppendPadded(t *testing.T) {
	for _, tc := range []struct {
		v     int64
		width int
		want  string
	}{{42, 8, "00000042"}, {12345678, 8, "12345678"}, {123456789, 8, "123456789"}, {0, 3, "000"}, {7, 1, "7"}} {
		if got := string(appendPadded([]byte("x"), tc.v, tc.width)); got != "x"+tc.want {
			t.Errorf("appendPadded(%d, %d) = %q, want %q", tc.v, tc.width, got, "x"+tc.want)
		}
	}
}

// On Linux the commit swaps folders with RENAME_EXCHANGE, so the previous
// folder is never absent, not even for an instant.
func TestExchangeSwapsFolders(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.MkdirAll(filepath.Join(a, "in-a"), 0o755)
	os.MkdirAll(filepath.Join(b, "in-b"), 0o755)
	if err := exchange(a, b); err != nil {
		if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL) {
			t.Skipf("no atomic exchange here (%v); CommitFolder uses two renames", err)
		}
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a, "in-b")); err != nil {
		t.Errorf("a does not hold b's content after the exchange: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b, "in-a")); err != nil {
		t.Errorf("b does not hold a's content after the exchange: %v", err)
	}
}

// A warehouse file written before discount_cents existed still reads: the
// missing column reads as zero.
func TestWarehouseWithoutDiscountColumn(t *testing.T) {
	type oldTransaction struct {
		CustomerID  string `parquet:"customer_id,dict,zstd"`
		OrderID     string `parquet:"order_id,plain,zstd"`
		TS          int64  `parquet:"ts,timestamp(microsecond:utc),zstd"`
		AmountCents int64  `parquet:"amount_cents,zstd"`
		Quantity    int32  `parquet:"quantity,zstd"`
		ProductID   string `parquet:"product_id,dict,zstd"`
		Category    string `parquet:"category,dict,zstd"`
		Channel     string `parquet:"channel,dict,zstd"`
		LineID      string `parquet:"line_id,dict,zstd"`
		LineKind    string `parquet:"line_kind,dict,zstd"`
	}
	work := t.TempDir()
	path := filepath.Join(BucketDir(filepath.Join(work, WarehouseDir), 0), "part-00000.parquet")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	old := []oldTransaction{{CustomerID: "a", OrderID: "1", TS: 5, AmountCents: 700, Quantity: 2, Category: "c"}, {CustomerID: "b", TS: 9, AmountCents: -100}}
	if err := writeParquetRows(path, old); err != nil {
		t.Fatal(err)
	}
	rows, err := readParquetRows[Transaction](path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Transaction{{CustomerID: "a", OrderID: "1", TS: 5, AmountCents: 700, Quantity: 2, Category: "c"}, {CustomerID: "b", TS: 9, AmountCents: -100}}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Fatalf("read %+v, want %+v", rows, want)
	}
	// The Arrow reader reads the asked columns the file has and skips the others.
	rr, closeFile, err := OpenWarehouseBucket(context.Background(), work, 0, memory.DefaultAllocator, ColCustomerID, ColAmountCents, ColDiscount)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFile()
	defer rr.Release()
	if !rr.Next() {
		t.Fatal("no batch")
	}
	rec := rr.RecordBatch()
	if rec.NumCols() != 2 || rec.ColumnName(0) != ColCustomerID || rec.ColumnName(1) != ColAmountCents || rec.NumRows() != 2 {
		t.Fatalf("columns %v, %d rows", rec.Schema(), rec.NumRows())
	}
}

// The KPI book round-trips through CSV and Parquet, NaN rates included.
func TestKPIsRoundTrip(t *testing.T) {
	rows := []KPIRow{
		{Month: "2024-01", Segment: "all", Complete: true, Customers: 10, ActiveCustomers: 4, NewCustomers: 4, RetentionRate: math.NaN(),
			ChurnRate: math.NaN(), RepeatPurchaseRate: 0.25, Orders: 5, PurchaseFrequency: 1.25, Revenue: 123.45, AvgOrderValue: 24.69,
			RevenuePerCustomer: 30.86, NPS: -33.3, NPSResponses: 3, CSATMean: math.NaN(), CESMean: 2.5, CESResponses: 2, Complaints: 1,
			ComplaintRate: 0.25, ReturnRate: 0.0125, ReturnLineRate: 0.1},
		{Month: "2024-02", Segment: "gold", Customers: 1, Retained: 1, PreviousActive: 1, RetentionRate: 1, ChurnRate: 0,
			RepeatPurchaseRate: 1, NPS: math.NaN(), CSATMean: math.NaN(), CESMean: math.NaN(), ComplaintRate: math.NaN(),
			ReturnRate: math.NaN(), ReturnLineRate: math.NaN(), PurchaseFrequency: math.NaN(), AvgOrderValue: math.NaN(), RevenuePerCustomer: math.NaN()},
	}
	same := func(a, b []KPIRow) bool {
		return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
	}
	var buf bytes.Buffer
	if err := WriteKPIsCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadKPIsCSV("kpis.csv", bytes.NewReader(buf.Bytes()))
	if err != nil || !same(back, rows) {
		t.Fatalf("CSV round trip: %v\n%+v\n%+v", err, back, rows)
	}
	path := filepath.Join(t.TempDir(), KPIsParquet)
	if err := WriteKPIsParquet(path, rows); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadKPIsParquet(path); err != nil || !same(back, rows) {
		t.Fatalf("Parquet round trip: %v\n%+v", err, back)
	}
	bad := strings.Replace(buf.String(), "2024-02,gold,false,1", "2024-02,gold,maybe,1", 1)
	if _, err := ReadKPIsCSV("kpis.csv", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "kpis.csv:3") {
		t.Errorf("bad boolean: %v", err)
	}
	var cb bytes.Buffer
	if err := WriteCohortsCSV(&cb, []CohortRow{{"2024-01", 4, []int64{4, 2, 1}, 55.5}, {"2024-02", 0, []int64{0, 0}, math.NaN()}}); err != nil {
		t.Fatal(err)
	}
	if want := "cohort,customers,mean_predicted_clv,month_0,month_1,month_2\n2024-01,4,55.50,1.0000,0.5000,0.2500\n2024-02,0,,,,\n"; cb.String() != want {
		t.Errorf("cohorts.csv:\n%s\nwant\n%s", cb.String(), want)
	}
}

// CleanStale removes the hidden temporary folders and files an interrupted
// writer left, restores a previous version moved aside before a crash, and
// leaves everything else alone.
func TestCleanStale(t *testing.T) {
	work := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(work, p), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(work, p, "f"), []byte("x"), 0o644)
	}
	mk("lists/as-of=2025-12-31")
	mk("lists/.as-of=2025-12-31.tmp-123")   // a list being written when the process died
	mk("features/.cutoff=2025-10-01.tmp-9") // the same for a snapshot
	mk("models/churn/.v1.tmp-77.old")       // the previous version, its replacement never landed
	os.WriteFile(filepath.Join(work, "lists", ".LATEST.tmp-5"), []byte("2025"), 0o644)
	mk("lists/.hidden-but-mine")
	done, err := CleanStale(work)
	if err != nil || len(done) != 4 {
		t.Fatalf("CleanStale: %v, %v", done, err)
	}
	for _, gone := range []string{"lists/.as-of=2025-12-31.tmp-123", "features/.cutoff=2025-10-01.tmp-9", "lists/.LATEST.tmp-5", "models/churn/.v1.tmp-77.old"} {
		if _, err := os.Stat(filepath.Join(work, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there", gone)
		}
	}
	for _, kept := range []string{"lists/as-of=2025-12-31/f", "models/churn/v1/f", "lists/.hidden-but-mine/f"} {
		if _, err := os.Stat(filepath.Join(work, kept)); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
}

// A retention list with a bad cell is named by file, line and column.
func TestReadScoresCSVBadCell(t *testing.T) {
	var b bytes.Buffer
	if err := WriteScoresCSV(&b, []ScoreRow{{Rank: 1, CustomerID: "a", ChurnProbability: 0.5}}); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(b.String(), "\n1,a,0.5000,", "\n1,a,half,", 1)
	_, err := ReadScoresCSV("list.csv", strings.NewReader(bad))
	if err == nil || !strings.Contains(err.Error(), "list.csv:2") || !strings.Contains(err.Error(), "churn_probability") {
		t.Errorf("bad probability: %v", err)
	}
}

// WriteFileWith writes what fn writes, and passes fn's error on.
func TestWriteFileWith(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.csv")
	err := WriteFileWith(path, func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Repeat("a,b\n", 300000))
		return err
	})
	if b, rerr := os.ReadFile(path); err != nil || rerr != nil || string(b) != strings.Repeat("a,b\n", 300000) {
		t.Fatalf("wrote %d bytes, %v %v", len(b), err, rerr)
	}
	boom := errors.New("boom")
	if err := WriteFileWith(path, func(io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn's error: %v", err)
	}
}

// A long list, formatted in chunks on every core, round-trips row for row
// and in order, each row on its own line after the header.
func TestWriteScoresCSVChunks(t *testing.T) {
	rows := make([]ScoreRow, 3*8192+17)
	for i := range rows {
		rows[i] = ScoreRow{Rank: int64(i + 1), CustomerID: fmt.Sprintf("c%06d", i), ChurnProbability: float64(i%1000) / 1000,
			Reasons: fmt.Sprintf("reason %d, \"quoted\"", i), ScoredAt: "2025-12-31"}
	}
	var buf bytes.Buffer
	if err := WriteScoresCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != len(rows)+1 {
		t.Fatalf("%d lines, want %d", n, len(rows)+1)
	}
	got, err := ReadScoresCSV("list.csv", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

// A writer's error ends a long list's writing with that error, whichever
// chunk meets it, and no chunk is left formatting.
func TestWriteScoresCSVWriteError(t *testing.T) {
	n := 40*8192 + 5
	fill := func(dst []ScoreRow, lo int) {
		for i := range dst {
			dst[i] = ScoreRow{Rank: int64(lo + i + 1), CustomerID: fmt.Sprintf("c%07d", lo+i)}
		}
	}
	boom := errors.New("disk full")
	for _, after := range []int{0, 1 << 20, 5 << 20, 9 << 20} {
		w := &failingWriter{left: after, err: boom}
		if err := WriteScoresCSVFunc(w, n, fill); !errors.Is(err, boom) {
			t.Errorf("failing after %d bytes: %v", after, err)
		}
	}
}

type failingWriter struct {
	left int
	err  error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		k := w.left
		w.left = 0
		return k, w.err
	}
	w.left -= len(p)
	return len(p), nil
}

// A list written a chunk at a time is the bytes of the list written at
// once: the CSV and the Parquet, and a file of more than one row group.
func TestWriteScoresFunc(t *testing.T) {
	dir := t.TempDir()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, n := range []int{0, 1, 8192, 3*8192 + 17} {
		rows := make([]ScoreRow, n)
		for i := range rows {
			rows[i] = ScoreRow{Rank: int64(i + 1), CustomerID: fmt.Sprintf("c%06d", i), ChurnProbability: float64(i%1000) / 1000,
				RiskTier: []string{"low", "high"}[i%2], Reasons: fmt.Sprintf("reason %d", i%77), ScoredAt: "2025-12-31"}
		}
		fill := func(dst []ScoreRow, lo int) { copy(dst, rows[lo:lo+len(dst)]) }
		var whole, chunked bytes.Buffer
		if err := WriteScoresCSV(&whole, rows); err != nil {
			t.Fatal(err)
		}
		if err := WriteScoresCSVFunc(&chunked, n, fill); err != nil || !bytes.Equal(whole.Bytes(), chunked.Bytes()) {
			t.Errorf("%d rows: the CSV written by chunks differs (%v)", n, err)
		}
		// One writer, row after row: the bytes the chunks must make.
		var serial bytes.Buffer
		cw := csv.NewWriter(&serial)
		cw.Write(ScoreColumns)
		cw.Flush()
		if err := WriteScoresCSVRecords(&serial, rows); err != nil || !bytes.Equal(serial.Bytes(), whole.Bytes()) {
			t.Errorf("%d rows: the CSV differs from the rows written one after the other (%v)", n, err)
		}
		a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
		if err := WriteScoresParquet(a, rows); err != nil {
			t.Fatal(err)
		}
		if err := WriteScoresParquetFunc(b, n, fill); err != nil || !bytes.Equal(read(a), read(b)) {
			t.Errorf("%d rows: the Parquet written by chunks differs (%v)", n, err)
		}
	}
	type small struct {
		A int64 `parquet:"a"`
	}
	rows := make([]small, 1<<20+1000) // two row groups
	for i := range rows {
		rows[i].A = int64(i * i % 1009)
	}
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	if err := writeParquetRows(a, rows); err != nil {
		t.Fatal(err)
	}
	if err := writeParquetFunc(b, len(rows), func(dst []small, lo int) { copy(dst, rows[lo:]) }); err != nil || !bytes.Equal(read(a), read(b)) {
		t.Errorf("two row groups: the Parquet written by chunks differs (%v)", err)
	}
}

// FileFingerprints gives each file's SHA-256 in input order, and an error
// naming a file it cannot read.
func TestFileFingerprints(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.csv", []byte("abc"))
	b := writeFile(t, dir, "b.csv", bytes.Repeat([]byte("x"), 1<<20))
	sums, err := FileFingerprints([]string{b, a, b}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// sha256("abc"), FIPS 180-2 appendix B.1.
	if sums[1] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || sums[0] != sums[2] || sums[0] == sums[1] {
		t.Errorf("sums %q", sums)
	}
	missing := filepath.Join(dir, "missing.csv")
	if _, err := FileFingerprints([]string{a, missing}, 2); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error %v does not name %s", err, missing)
	}
}
