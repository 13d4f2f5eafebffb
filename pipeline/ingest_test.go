package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/internal/testutil"
)

// treeHashes maps every file under root to its SHA-256.
func treeHashes(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	return out
}

func warehouseRows(t *testing.T, work string) []datasets.Transaction {
	t.Helper()
	info, err := datasets.OpenWarehouse(work)
	if err != nil {
		t.Fatal(err)
	}
	var all []datasets.Transaction
	for b := range info.Buckets {
		rows, err := datasets.WarehouseBucketRows(work, b)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
	}
	return all
}

func write(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Nightly exports overlap: the second night's file repeats the last day of
// the first. Only new rows are added; re-ingesting a file changes nothing.
func TestIngestMergesOverlappingExports(t *testing.T) {
	work, in := t.TempDir(), t.TempDir()
	cfg := Config{Workdir: work, Buckets: 3}
	night1 := write(t, in, "night1.csv", "customer_id,order_id,ts,amount\nc1,o1,2025-01-01,10.00\nc2,o2,2025-01-02,5.00\nc2,o2,2025-01-02,5.00\n")
	night2 := write(t, in, "night2.csv", "customer_id,order_id,ts,amount\nc2,o2,2025-01-02,5.00\nc2,o2,2025-01-02,5.00\nc3,o3,2025-01-03,7.50\nc1,o4,2025-01-03,-2.00\n")
	r1, err := Ingest(context.Background(), cfg, IngestInput{Transactions: night1})
	if err != nil {
		t.Fatal(err)
	}
	// The exact duplicate line inside night 1 is counted and dropped.
	if r1.Read != 3 || r1.Loaded != 3 || r1.Duplicates != 1 || r1.Rows != 2 || r1.Customers != 2 {
		t.Fatalf("night 1: %+v", r1)
	}
	r2, err := Ingest(context.Background(), cfg, IngestInput{Transactions: night2})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Read != 4 || r2.Duplicates != 2 || r2.Rows != 4 || r2.Customers != 3 || r2.LastDay != "2025-01-03" {
		t.Fatalf("night 2: %+v", r2)
	}
	rows := warehouseRows(t, work)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s/%s/%d", r.CustomerID, r.OrderID, r.AmountCents))
	}
	slices.Sort(got)
	if want := []string{"c1/o1/1000", "c1/o4/-200", "c2/o2/500", "c3/o3/750"}; !slices.Equal(got, want) {
		t.Errorf("warehouse rows %v, want %v", got, want)
	}
	before := treeHashes(t, filepath.Join(work, "warehouse"))
	for _, f := range []string{night1, night2, night1 + "," + night2} {
		r, err := Ingest(context.Background(), cfg, IngestInput{Transactions: f})
		if err != nil || !r.NoOp || len(r.Skipped) == 0 || r.Rows != 4 {
			t.Errorf("re-ingest %s: %+v, %v; want a no-op", f, r, err)
		}
	}
	if after := treeHashes(t, filepath.Join(work, "warehouse")); !mapsEqual(before, after) {
		t.Error("re-ingesting the same files changed the warehouse")
	}
	// The log records both ingests with their files' hashes.
	log, err := readIngestLog(work)
	if err != nil || len(log) != 2 || log[1].Files[0].Path != night2 || log[1].Duplicates != 2 || len(log[0].Files[0].SHA256) != 64 {
		t.Errorf("ingest log %+v, %v", log, err)
	}
	// --replace rebuilds from the given input alone.
	r, err := Ingest(context.Background(), cfg, IngestInput{Transactions: night2, Replace: true})
	if err != nil || r.Rows != 3 {
		t.Errorf("replace: %+v, %v; want the 3 distinct rows of night 2", r, err)
	}
}

// A file that cannot have been ingested before — no logged file and no
// other input has its size — is hashed by its read instead of a pass of its
// own first. The ingest is the same bytes as with the hash first (forced
// here by a stored shards folder), its ID and log carry the file's SHA-256,
// and files that could repeat one (a size seen before, two inputs of one
// size) are still hashed first, so a copy is skipped.
func TestIngestHashesWhileReading(t *testing.T) {
	in := t.TempDir()
	var b strings.Builder
	b.WriteString("customer_id,order_id,ts,amount\n")
	for i := range 200 {
		fmt.Fprintf(&b, "c%d,o%d,2025-01-%02d,%d.00\n", i%30, i, 1+i%28, 1+i%9)
	}
	b.WriteString("c1,o999,2025-02-30,1.00\n") // quarantined: the quarantine file is named by the ID
	a := write(t, in, "a.csv", b.String())
	aCopy := write(t, in, "a-copy.csv", b.String())
	sum := sha256.Sum256([]byte(b.String()))
	aSum := fmt.Sprintf("%x", sum)
	idSum := sha256.Sum256([]byte("transactions/" + aSum + "|replace=false"))
	wantID := fmt.Sprintf("ingest-%x", idSum[:6])

	hashed, first := t.TempDir(), t.TempDir()
	if got := readHashes(Config{Workdir: hashed}, []string{a}, nil); !got[a] {
		t.Fatalf("readHashes %v: want a.csv hashed by its read", got)
	}
	if err := os.MkdirAll(filepath.Join(datasets.ShardsRoot(first, ingestStage, "x")), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := readHashes(Config{Workdir: first}, []string{a}, nil); len(got) != 0 {
		t.Fatalf("readHashes with stored shards %v: want every file hashed first", got)
	}
	opt := IngestInput{Transactions: a, MaxBadFraction: 0.01}
	r1, err := Ingest(context.Background(), Config{Workdir: hashed, Buckets: 2}, opt)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Ingest(context.Background(), Config{Workdir: first, Buckets: 2}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if r1.ID != wantID || r2.ID != wantID || r1.Quarantine != filepath.Join(hashed, QuarantineDir, wantID+".csv") {
		t.Errorf("ingest IDs %s (quarantine %s) and %s, want %s", r1.ID, r1.Quarantine, r2.ID, wantID)
	}
	if h1, h2 := treeHashes(t, filepath.Join(hashed, "warehouse")), treeHashes(t, filepath.Join(first, "warehouse")); !mapsEqual(h1, h2) || len(h1) == 0 {
		t.Error("the warehouse differs when the read hashes the file")
	}
	log, err := readIngestLog(hashed)
	if err != nil || len(log) != 1 || log[0].ID != wantID || log[0].Files[0].SHA256 != aSum || log[0].Files[0].Bytes != int64(b.Len()) {
		t.Fatalf("ingest log %+v, %v", log, err)
	}
	// A copy has a logged size: hashed first and skipped.
	if got := readHashes(Config{Workdir: hashed}, []string{aCopy}, log); len(got) != 0 {
		t.Errorf("readHashes of a logged size %v: want it hashed first", got)
	}
	r, err := Ingest(context.Background(), Config{Workdir: hashed, Buckets: 2}, IngestInput{Transactions: aCopy})
	if err != nil || !r.NoOp || len(r.Skipped) != 1 {
		t.Errorf("ingesting a copy: %+v, %v; want a no-op", r, err)
	}
	// Two inputs of one size in a fresh warehouse: both hashed first, the copy skipped.
	both := t.TempDir()
	if got := readHashes(Config{Workdir: both}, []string{a, aCopy}, nil); len(got) != 0 {
		t.Errorf("readHashes of two inputs of one size %v: want both hashed first", got)
	}
	r, err = Ingest(context.Background(), Config{Workdir: both, Buckets: 2}, IngestInput{Transactions: a + "," + aCopy, MaxBadFraction: 0.01})
	if err != nil || r.Read != 201 || len(r.Skipped) != 1 || r.Skipped[0] != aCopy || r.ID != wantID {
		t.Errorf("ingesting a file and its copy: %+v, %v; want the copy skipped", r, err)
	}
}

func mapsEqual(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A file with a few bad rows loads its good rows and quarantines the bad
// ones with file, line, column and reason.
func TestIngestQuarantine(t *testing.T) {
	work, in := t.TempDir(), t.TempDir()
	var b strings.Builder
	b.WriteString("customer_id,ts,amount\n")
	for i := range 300 {
		fmt.Fprintf(&b, "c%d,2025-01-%02d,%d.00\n", i%40, 1+i%28, 1+i%9)
	}
	b.WriteString("c1,2025-02-30,1.00\n") // line 302
	b.WriteString("c2,2025-01-01,ten\n")  // line 303
	path := write(t, in, "mixed.csv", b.String())
	res, err := Ingest(context.Background(), Config{Workdir: work, Buckets: 2}, IngestInput{Transactions: path, MaxBadFraction: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 302 || res.Loaded != 300 || res.Quarantined != 2 || !strings.HasPrefix(res.Quarantine, filepath.Join(work, QuarantineDir)) {
		t.Fatalf("result %+v", res)
	}
	recs := testutil.ReadCSV(t, res.Quarantine)
	want := [][]string{QuarantineColumns,
		{path, "302", "2", "ts", `timestamp "2025-02-30": day 30 out of range for 2025-02`, "c1,2025-02-30,1.00"},
		{path, "303", "3", "amount", `amount "ten" is not a number`, "c2,2025-01-01,ten"}}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Errorf("quarantine file:\n%q\nwant\n%q", recs, want)
	}
}

// A mostly-bad file stops the ingest with a data error naming the first bad
// lines; the warehouse stays byte for byte as it was, with no quarantine file.
func TestIngestMostlyBadKeepsWarehouse(t *testing.T) {
	work, in := t.TempDir(), t.TempDir()
	cfg := Config{Workdir: work, Buckets: 2}
	good := write(t, in, "good.csv", "customer_id,ts,amount\nc1,2024-01-01,10.00\n")
	if _, err := Ingest(context.Background(), cfg, IngestInput{Transactions: good}); err != nil {
		t.Fatal(err)
	}
	before := treeHashes(t, work)
	bad := write(t, in, "bad.csv", "customer_id,ts,amount\nc1,2024-01-02,10.00\nc2,2024-01-02,ten\nc3,01/02/2024,1\nc4,2024-01-02,\n")
	_, err := Ingest(context.Background(), cfg, IngestInput{Transactions: bad, MaxBadFraction: 0.01})
	var de *datasets.DataError
	if !errors.As(err, &de) || de.File != bad || de.Line != 3 || de.Column != 3 {
		t.Fatalf("err = %v, want a data error at bad.csv:3:3", err)
	}
	for _, want := range []string{"3 of 4 rows are bad", "line 3:3: column \"amount\"", "line 4:2: column \"ts\"", "date_order", "line 5:3", "nothing was ingested"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if after := treeHashes(t, work); !mapsEqual(before, after) {
		t.Errorf("a failed ingest changed the work directory: %s", treeDiff(before, after))
	}
	// An unmappable header and an unreadable file are the same kind of stop.
	for _, data := range []string{"who,when\nc1,2024-01-01\n", "", "customer_id,ts,amount\n"} {
		p := write(t, in, "x.csv", data)
		if _, err := Ingest(context.Background(), cfg, IngestInput{Transactions: p}); !datasets.IsDataError(err) {
			t.Errorf("%q: err = %v, want a data error", data, err)
		}
	}
	if after := treeHashes(t, work); !mapsEqual(before, after) {
		t.Errorf("a failed ingest changed the work directory: %s", treeDiff(before, after))
	}
}

// treeDiff names the files that differ between two treeHashes.
func treeDiff(before, after map[string][32]byte) string {
	var d []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			d = append(d, "-"+k)
		} else if w != v {
			d = append(d, "~"+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, "+"+k)
		}
	}
	sort.Strings(d)
	return strings.Join(d, " ")
}

// Two writers on one work directory: the second is refused, not interleaved.
func TestIngestLock(t *testing.T) {
	work, in := t.TempDir(), t.TempDir()
	unlock, err := datasets.LockWorkdir(work)
	if err != nil {
		t.Fatal(err)
	}
	p := write(t, in, "a.csv", "customer_id,ts,amount\nc1,2024-01-01,10.00\n")
	_, err = Ingest(context.Background(), Config{Workdir: work}, IngestInput{Transactions: p})
	if !errors.Is(err, datasets.ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	unlock()
	if _, err := Ingest(context.Background(), Config{Workdir: work}, IngestInput{Transactions: p}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

// Generated shop → ingest → the warehouse holds exactly the input's rows.
func TestIngestRoundTrip(t *testing.T) {
	work := t.TempDir()
	path := filepath.Join(shopDir(t), "transactions.csv")
	var want []datasets.Transaction
	if _, err := datasets.ReadTransactionsCSV(context.Background(), path, datasets.ReadOptions{}, func(tx datasets.Transaction) error {
		want = append(want, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := Ingest(context.Background(), Config{Workdir: work, Buckets: 5}, IngestInput{Transactions: path})
	if err != nil {
		t.Fatal(err)
	}
	// The ingest log records the file's size and hash (hashed once, before the read).
	size, sum, err := datasets.FileFingerprint(path)
	if err != nil {
		t.Fatal(err)
	}
	log, err := readIngestLog(work)
	if err != nil || len(log) != 1 || len(log[0].Files) != 1 || log[0].Files[0].Bytes != size || log[0].Files[0].SHA256 != sum {
		t.Fatalf("ingest log %+v (%v), file %d bytes, %s", log, err, size, sum)
	}
	got := warehouseRows(t, work)
	cmp := func(a, b datasets.Transaction) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) }
	slices.SortFunc(want, cmp)
	slices.SortFunc(got, cmp)
	// The generator never repeats an order line, so nothing is a duplicate.
	if res.Duplicates != 0 || !slices.Equal(got, want) {
		t.Fatalf("warehouse has %d rows (%d duplicates), input %d; equal=%v", len(got), res.Duplicates, len(want), slices.Equal(got, want))
	}
}

// The generated shop's customers and feedback exports load completely into
// their tables; a newer customers export replaces a customer's row.
func TestIngestCustomersAndFeedback(t *testing.T) {
	work, dir := t.TempDir(), shopDir(t)
	lines := func(name string) int64 {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return int64(strings.Count(string(b), "\n") - 1)
	}
	cfg := Config{Workdir: work, Buckets: 4}
	res, err := Ingest(context.Background(), cfg, IngestInput{Transactions: filepath.Join(dir, "transactions.csv"),
		Customers: filepath.Join(dir, "customers.csv"), Feedback: filepath.Join(dir, "feedback.csv"), Now: asOf.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res.CustomerRows != lines("customers.csv") || res.FeedbackRows != lines("feedback.csv") || res.Quarantined != 0 || len(res.Files) != 3 {
		t.Fatalf("result %+v; customers.csv %d rows, feedback.csv %d", res, lines("customers.csv"), lines("feedback.csv"))
	}
	fb, err := datasets.ReadFeedback(work)
	if err != nil || int64(len(fb)) != res.FeedbackRows {
		t.Fatalf("feedback table: %d rows, %v", len(fb), err)
	}
	for _, f := range fb {
		if !slices.Contains(datasets.FeedbackKinds, f.Kind) {
			t.Fatalf("feedback kind %q", f.Kind)
		}
	}
	// A later customers-only ingest: one changed customer, one new.
	upd := write(t, t.TempDir(), "customers-update.csv", "customer_id,email,tier\n00000001,new@example.com,gold\nnew1,n@example.com,\n")
	res2, err := Ingest(context.Background(), cfg, IngestInput{Customers: upd})
	if err != nil || res2.CustomerRows != res.CustomerRows+1 || res2.FeedbackRows != -1 || res2.Rows != res.Rows {
		t.Fatalf("update: %+v, %v", res2, err)
	}
	cs, _ := datasets.ReadCustomers(work)
	for _, c := range cs {
		// Fields the update leaves empty keep their stored values.
		if c.CustomerID == "00000001" && (c.Email != "new@example.com" || c.Attributes != `{"tier":"gold"}` || c.SignupTS == 0 || c.Country == "") {
			t.Errorf("updated customer %+v", c)
		}
	}
	if r, err := Ingest(context.Background(), cfg, IngestInput{Customers: upd, Feedback: filepath.Join(dir, "feedback.csv")}); err != nil || !r.NoOp {
		t.Errorf("re-ingest: %+v, %v", r, err)
	}
}

// childIngestEnv makes the test binary run one ingest and exit (see TestMain).
const childIngestEnv = "CHURN_TEST_CHILD_INGEST"

// runChildIngest is the child side: CHURN_TEST_CHILD_INGEST=workdir|file.
func runChildIngest(spec string) {
	work, file, _ := strings.Cut(spec, "|")
	if _, err := Ingest(context.Background(), Config{Workdir: work, Buckets: 4}, IngestInput{Transactions: file}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Killing an ingest (SIGKILL) at many points leaves the previous warehouse
// readable and complete — its manifest, every file it lists, the same rows —
// and a rerun then completes correctly.
func TestIngestSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	work, in := t.TempDir(), t.TempDir()
	first := write(t, in, "first.csv", "customer_id,ts,amount\nc1,2024-01-01,10.00\nc2,2024-01-02,5.00\n")
	if _, err := Ingest(context.Background(), Config{Workdir: work, Buckets: 4}, IngestInput{Transactions: first}); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(shopDir(t), "transactions.csv")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	states := map[int64]int{}
	for i := range 25 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childIngestEnv+"="+work+"|"+big)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*12) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		info, err := datasets.OpenWarehouse(work)
		if err != nil {
			t.Fatalf("kill %d: warehouse unreadable: %v", i, err)
		}
		m, err := datasets.ReadManifest(filepath.Join(work, datasets.WarehouseDir))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m.Files {
			if st, err := os.Stat(filepath.Join(work, datasets.WarehouseDir, f.Path)); err != nil || st.Size() != f.Bytes {
				t.Fatalf("kill %d: manifest file %s missing or wrong size (%v)", i, f.Path, err)
			}
		}
		if got := int64(len(warehouseRows(t, work))); got != info.Rows {
			t.Fatalf("kill %d: %d rows stored, manifest says %d", i, got, info.Rows)
		}
		states[info.Rows]++
		if info.Rows != 2 {
			break // the child finished before the kill: the new state
		}
	}
	t.Logf("warehouse states seen after kills (rows → count): %v", states)
	if _, err := Ingest(context.Background(), Config{Workdir: work, Buckets: 4}, IngestInput{Transactions: big}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(big)
	lines := int64(strings.Count(string(raw), "\n") - 1) // the generator's lines are all distinct
	if info, err := datasets.OpenWarehouse(work); err != nil || info.Rows != 2+lines {
		t.Errorf("after the rerun: %+v, %v; want %d rows", info, err, 2+lines)
	}
}

// With a line id, (customer, order, line) is a row's identity: a later
// export's corrected line replaces the stored one, while two genuinely
// identical lines of one order with different line numbers both stay.
func TestIngestLineIDs(t *testing.T) {
	work, in := t.TempDir(), t.TempDir()
	cfg := Config{Workdir: work, Buckets: 2}
	day1 := write(t, in, "day1.csv", "customer_id,order_id,line_no,ts,amount\nc1,o1,1,2025-01-01,10.00\nc1,o1,2,2025-01-01,10.00\nc2,o2,1,2025-01-02,5.00\n")
	day2 := write(t, in, "day2.csv", "customer_id,order_id,line_no,ts,amount\nc1,o1,2,2025-01-01,8.00\nc2,o2,1,2025-01-02,5.00\nc3,o3,1,2025-01-03,1.00\n")
	for _, f := range []string{day1, day2} {
		if _, err := Ingest(context.Background(), cfg, IngestInput{Transactions: f}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, r := range warehouseRows(t, work) {
		got = append(got, fmt.Sprintf("%s/%s/%s=%d", r.CustomerID, r.OrderID, r.LineID, r.AmountCents))
	}
	slices.Sort(got)
	if want := []string{"c1/o1/1=1000", "c1/o1/2=800", "c2/o2/1=500", "c3/o3/1=100"}; !slices.Equal(got, want) {
		t.Errorf("warehouse %v, want %v", got, want)
	}
}

// A shop's order-lines export as it really comes: 30% guest checkouts,
// cancellation invoices, postage. It ingests without exit 3, the summary
// counts every category, and a fully cancelled order is not a purchase in
// the features.
func TestIngestShopExport(t *testing.T) {
	work, in := t.TempDir(), t.TempDir()
	var b strings.Builder
	b.WriteString("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
	for i := range 100 {
		cust := fmt.Sprintf("%d.0", 12000+i%10)
		if i%10 < 3 {
			cust = "" // guests: 30% of the rows
		}
		fmt.Fprintf(&b, "%d,P%d,ITEM %d,2,2024-%02d-%02d 10:00,1.50,%s,UK\n", 500000+i, i, i, 1+i%6, 1+i%28, cust)
	}
	// Customer 12005 buys once more on 2024-06-20 and cancels it in full.
	b.WriteString("600001,P1,ITEM 1,4,2024-06-20 10:00,2.50,12005.0,UK\n")
	b.WriteString("600001,POST,POSTAGE,1,2024-06-20 10:00,5.00,12005.0,UK\n")
	b.WriteString("C600001,P1,ITEM 1,-4,2024-06-21 09:00,2.50,12005.0,UK\n")
	b.WriteString("C599999,P2,ITEM 2,-1,2024-06-22 09:00,1.50,12006.0,UK\n") // its order is not in the data
	path := write(t, in, "online_retail.csv", b.String())
	cfg := Config{Workdir: work, Buckets: 2}
	res, err := Ingest(context.Background(), cfg, IngestInput{Transactions: path, Preset: "generic-lines", MaxBadFraction: 0.01})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	want := LineCounts{Guests: 30, NonProduct: map[string]int64{datasets.LineShipping: 1}, CancelLines: 2, CancelsLinked: 1, CancelsNotLinked: 1}
	if got := res.Lines; got.Guests != want.Guests || got.NonProduct[datasets.LineShipping] != 1 || got.CancelLines != 2 ||
		got.CancelsLinked != 1 || got.CancelsNotLinked != 1 || res.Quarantined != 0 || res.Read != 104 || res.Loaded != 74 {
		t.Fatalf("result %+v, lines %+v; want lines %+v", res, got, want)
	}
	log, _ := readIngestLog(work)
	if len(log) != 1 || log[0].Lines.Guests != 30 || log[0].Preset != "generic-lines" {
		t.Errorf("ingest log %+v", log)
	}
	m, _ := datasets.ReadManifest(filepath.Join(work, datasets.WarehouseDir))
	if !strings.Contains(m.Meta["last_ingest_lines"], `"guests":30`) || !strings.Contains(m.Meta["last_ingest_counts"], `"read":104`) {
		t.Errorf("warehouse manifest meta %v", m.Meta)
	}
	// The linked cancellation carries the original order id.
	linked := 0
	for _, r := range warehouseRows(t, work) {
		if r.LineKind == datasets.LineCancellation && r.OrderID == "600001" && r.AmountCents == -1000 {
			linked++
		}
	}
	if linked != 1 {
		t.Errorf("%d cancellation lines linked to order 600001, want 1", linked)
	}
	fr, err := Features(context.Background(), cfg, time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := datasets.ReadSnapshot(context.Background(), fr.Dir, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	ids, _ := features.Strings(rec, features.CustomerID)
	orders, _ := features.Float64s(rec, features.Orders)
	last, _ := features.Float64s(rec, features.LastOrderDate)
	for i, id := range ids {
		if id == "12005" {
			// 12005 bought in rows 5, 15, …, 95 (10 orders, the last on 2024-06-12);
			// the order of 2024-06-20, cancelled the next day, does not count.
			if orders[i] != 10 || time.Unix(int64(last[i])*86400, 0).UTC().Format(time.DateOnly) != "2024-06-12" {
				t.Errorf("12005: %v orders, last order day %v; the cancelled order must not count", orders[i], last[i])
			}
			return
		}
	}
	t.Errorf("customer 12005 missing from %v", ids)
}

// Ingest writes the same warehouse bytes whatever the number of workers
// parsing the inputs, also when it merges a second, overlapping export.
func TestIngestSameWithAnyWorkers(t *testing.T) {
	dir := shopDir(t)
	tx := filepath.Join(dir, "transactions.csv")
	b, err := os.ReadFile(tx)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	half := filepath.Join(t.TempDir(), "half.csv")
	if err := os.WriteFile(half, []byte(strings.Join(append(lines[:1], lines[len(lines)/3:]...), "")), 0o600); err != nil {
		t.Fatal(err)
	}
	files := func(work string) map[string][]byte {
		out := map[string][]byte{}
		root := filepath.Join(work, "warehouse")
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
				b, _ := os.ReadFile(p)
				out[strings.TrimPrefix(p, root)] = b
			}
			return err
		})
		return out
	}
	var want map[string][]byte
	for _, workers := range []int{1, 2, 5} {
		work := t.TempDir()
		cfg := Config{Workdir: work, Buckets: 4, Workers: workers}
		if _, err := Ingest(context.Background(), cfg, IngestInput{Transactions: tx, Customers: filepath.Join(dir, "customers.csv"),
			Feedback: filepath.Join(dir, "feedback.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		res, err := Ingest(context.Background(), cfg, IngestInput{Transactions: half, Now: asOf.AddDate(0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicates == 0 {
			t.Fatalf("%d workers: the overlapping export dropped no duplicates", workers)
		}
		got := files(work)
		if len(got) < 12 {
			t.Fatalf("%d workers: %d Parquet files", workers, len(got))
		}
		if want == nil {
			want = got
			continue
		}
		for name, w := range want {
			if !bytes.Equal(got[name], w) {
				t.Fatalf("%d workers: %s differs from the one-worker ingest", workers, name)
			}
		}
	}
}
