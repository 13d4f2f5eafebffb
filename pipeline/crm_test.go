package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-dev/churn/datasets"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/crm")

// crmRows: a has an email and a phone, b an email, c a phone, d nothing;
// d's id and a's reasons would run as formulas in a spreadsheet.
var crmRows = []datasets.ScoreRow{
	{Rank: 1, CustomerID: "a", ChurnProbability: 0.81234, RiskTier: "high", PAlive: 0.3, ExpectedOrders: 1.5, PredictedCLV: 1234.5, ValueAtRisk: 1002.83,
		Segment: "Can't lose them", LoyaltyTier: "gold", SatisfactionClass: "detractor", Reasons: "-no order for 200 days, \"usual\" gap 30", SuggestedAction: "VIP outreach", LastOrderDate: "2025-06-14",
		ExpectedNextOrderDate: "", ModelVersion: "m1", ScoredAt: "2025-12-31"},
	{Rank: 2, CustomerID: "b", ChurnProbability: 0.5, RiskTier: "medium", PredictedCLV: 300, ValueAtRisk: 150, Segment: "At risk", LoyaltyTier: "none",
		Reasons: "近90天投诉1次", SuggestedAction: "Service recovery", LastOrderDate: "2025-10-01", ExpectedNextOrderDate: "2026-01-20", ScoredAt: "2025-12-31"},
	{Rank: 3, CustomerID: "c", ChurnProbability: 0.2, RiskTier: "low", PredictedCLV: 100, ValueAtRisk: 20, Segment: "Loyal",
		SuggestedAction: "Reward", LastOrderDate: "2025-12-01", ScoredAt: "2025-12-31"},
	{Rank: 4, CustomerID: "=HYPERLINK(\"http://x\")", ChurnProbability: 0.1, RiskTier: "low", PredictedCLV: 10, ValueAtRisk: 1, Segment: "New",
		SuggestedAction: "Onboarding", LastOrderDate: "2025-12-30", ScoredAt: "2025-12-31"},
}

var crmContacts = map[string]contact{
	"a": {email: "ann@example.com", phone: "+86 138 0013 8000"},
	"b": {email: "bob@example.com"},
	"c": {phone: "+1 (555) 010-2000"},
}

// Each dialect's file for the fixture, byte for byte (testdata/crm/*.csv;
// go test -run CRMGolden -update rewrites them after a deliberate change).
func TestCRMGolden(t *testing.T) {
	for _, f := range ExportFormats {
		parts, res, err := crmParts(f, crmRows, crmContacts, false, [2]int64{})
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 1 {
			t.Fatalf("%s: %d parts", f, len(parts))
		}
		golden := filepath.Join("testdata", "crm", f+".csv")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, parts[0], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(parts[0], want) {
			t.Errorf("%s:\n%s\nwant\n%s", f, parts[0], want)
		}
		wantRows := map[string]int{"csv": 4, "hubspot": 2, "salesforce": 2, "braze": 4, "klaviyo": 3}[f]
		if res.Rows != wantRows || res.Rows+res.Skipped != 4 {
			t.Errorf("%s: %d rows, %d skipped; want %d rows", f, res.Rows, res.Skipped, wantRows)
		}
	}
}

// Formula cells are neutralised, numbers and phone numbers are not, and the
// CSV list reads back to the original values.
func TestFormulaNeutralisation(t *testing.T) {
	for in, want := range map[string]string{"=1+2": "'=1+2", "@SUM(A1)": "'@SUM(A1)", "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
		"-2+3": "'-2+3", "\tx": "'\tx", "-5.00": "-5.00", "+86 138 0013 8000": "+86 138 0013 8000", "+1 (555) 010-2000": "+1 (555) 010-2000",
		"plain": "plain", "": "", "-": "'-"} {
		if got := datasets.NeutraliseCell(in); got != want {
			t.Errorf("NeutraliseCell(%q) = %q, want %q", in, got, want)
		}
	}
	var buf bytes.Buffer
	if err := datasets.WriteScoresCSV(&buf, crmRows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"'=HYPERLINK(""http://x"")"`) || !strings.Contains(buf.String(), `"'-no order for 200 days`) {
		t.Errorf("retention list not neutralised:\n%s", buf.String())
	}
	back, err := datasets.ReadScoresCSV("list", &buf)
	if err != nil || back[3].CustomerID != crmRows[3].CustomerID || back[0].Reasons != crmRows[0].Reasons {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

// Row and byte limits split the export, every part with the header (and
// the BOM); no part exceeds the limits.
func TestCRMSplitting(t *testing.T) {
	rows := make([]datasets.ScoreRow, 0, 7)
	contacts := map[string]contact{}
	for i := range 7 {
		id := string(rune('a' + i))
		rows = append(rows, datasets.ScoreRow{Rank: int64(i + 1), CustomerID: id, RiskTier: "low", ScoredAt: "2025-12-31"})
		contacts[id] = contact{email: id + "@example.com"}
	}
	parts, res, err := crmParts("salesforce", rows, contacts, true, [2]int64{3, 0})
	if err != nil || len(parts) != 3 || res.Rows != 7 {
		t.Fatalf("rows limit 3: %d parts, %+v, %v", len(parts), res, err)
	}
	for i, p := range parts {
		lines := strings.Count(string(p), "\n")
		if !strings.HasPrefix(string(p), "\uFEFFEmail,Phone,Customer_ID__c,") || lines > 4 || lines < 2 {
			t.Errorf("part %d: %d lines:\n%s", i, lines, p)
		}
	}
	one, _, _ := crmParts("klaviyo", rows[:1], contacts, false, [2]int64{})
	limit := int64(len(one[0]) + 10) // the header and one row, not two
	parts, res, err = crmParts("klaviyo", rows, contacts, false, [2]int64{0, limit})
	if err != nil || len(parts) != 7 || res.Rows != 7 {
		t.Fatalf("byte limit: %d parts, %+v, %v", len(parts), res, err)
	}
	for i, p := range parts {
		if int64(len(p)) > limit || !strings.HasPrefix(string(p), "Email,Phone Number,") {
			t.Errorf("part %d: %d bytes > %d", i, len(p), limit)
		}
	}
	if _, _, err := crmParts("klaviyo", rows, contacts, false, [2]int64{0, 20}); err == nil {
		t.Error("a limit smaller than one row: want an error")
	}
	if got := partName("/x/crm.csv", 1, 3); got != "/x/crm-002.csv" {
		t.Errorf("partName = %s", got)
	}
}

// Export end to end: the contacts come from the customers input; a split
// export lands as numbered files; without contacts a CRM export fails.
func TestExportDialectsEndToEnd(t *testing.T) {
	work := t.TempDir()
	res := runChainWithCustomers(t, work)
	out := filepath.Join(t.TempDir(), "hubspot.csv")
	exp, err := Export(context.Background(), Config{Workdir: work}, asOf, ExportOptions{Format: "hubspot", Out: out, MaxRows: 1500, Excel: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Files) != 3 || exp.Rows+exp.Skipped != res.Score.Customers || exp.Rows < 3000 {
		t.Fatalf("export: %+v", exp)
	}
	total := 0
	for _, f := range exp.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "\uFEFFEmail,") {
			t.Errorf("%s starts %q", f, string(b[:20]))
		}
		total += strings.Count(string(b), "\n") - 1
		if strings.Contains(string(b), "\n,") {
			t.Errorf("%s has a row without an email", f)
		}
	}
	if total != exp.Rows {
		t.Errorf("files hold %d rows, export says %d", total, exp.Rows)
	}
	var only bytes.Buffer
	sub, err := Export(context.Background(), Config{Workdir: work}, asOf, ExportOptions{Format: "braze", W: &only, ContactsOnly: true})
	contacted := 0
	for _, r := range readList(t, res.Score.ListCSV) {
		if r.Contact {
			contacted++
		}
	}
	if err != nil || sub.Rows != contacted || contacted == 0 || contacted == res.Score.Customers || strings.Count(only.String(), "\n") != contacted+1 {
		t.Errorf("contacts only: %+v, %v; %d contacted", sub, err, contacted)
	}
	if _, err := Export(context.Background(), Config{Workdir: work}, asOf, ExportOptions{Format: "hubspot", W: &bytes.Buffer{}, MaxRows: 1500}); err == nil {
		t.Error("a split export to a stream: want an error")
	}
	os.RemoveAll(filepath.Join(work, datasets.CustomersDir))
	if _, err := Export(context.Background(), Config{Workdir: work}, asOf, ExportOptions{Format: "salesforce", W: &bytes.Buffer{}}); err == nil || !strings.Contains(err.Error(), "--customers") {
		t.Errorf("no contacts: %v", err)
	}
}

func runChainWithCustomers(t *testing.T, workdir string) RunResult {
	t.Helper()
	dir := shopDir(t)
	res, err := Run(context.Background(), Config{Workdir: workdir, Buckets: 4}, asOf, IngestInput{Transactions: filepath.Join(dir, "transactions.csv"),
		Customers: filepath.Join(dir, "customers.csv"), Feedback: filepath.Join(dir, "feedback.csv"), Now: asOf.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readList(t *testing.T, path string) []datasets.ScoreRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := datasets.ReadScoresCSV(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Parts written to files as they come are the bytes the memory parts hold,
// placed under the export's names; a failed export (a row too long for the
// byte limit, after two parts) leaves no file; a stream takes one part.
func TestExportPartsToFiles(t *testing.T) {
	var rows []datasets.ScoreRow
	contacts := map[string]contact{}
	for i := range 7 {
		id := fmt.Sprintf("c%d", i)
		rows = append(rows, datasets.ScoreRow{Rank: int64(i + 1), CustomerID: id, RiskTier: "low", Reasons: strings.Repeat("r", 10*i)})
		contacts[id] = contact{email: id + "@example.com"}
	}
	each := func(fn func([]datasets.ScoreRow) error) error { // two chunks, as a list is read
		if err := fn(rows[:4]); err != nil {
			return err
		}
		return fn(rows[4:])
	}
	want, _, err := crmParts("salesforce", rows, contacts, true, [2]int64{3, 0})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fp := &fileParts{dir: dir}
	res, err := crmExport("salesforce", each, contacts, true, [2]int64{3, 0}, fp)
	if err != nil || res.Rows != 7 {
		t.Fatalf("%+v, %v", res, err)
	}
	names, err := fp.place(filepath.Join(dir, "sf.csv"))
	if err != nil || len(names) != len(want) {
		t.Fatalf("placed %v, %v; want %d parts", names, err, len(want))
	}
	for i, name := range names {
		if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, want[i]) || name != partName(filepath.Join(dir, "sf.csv"), i, len(want)) {
			t.Errorf("part %d %s: %q, %v; want %q", i, name, got, err, want[i])
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".export-*")); len(left) > 0 {
		t.Errorf("temporary parts left: %v", left)
	}

	failed := t.TempDir()
	fp = &fileParts{dir: failed}
	one, _, _ := crmParts("klaviyo", rows[:1], contacts, false, [2]int64{})
	if _, err := crmExport("klaviyo", each, contacts, false, [2]int64{0, int64(len(one[0]) + 12)}, fp); err == nil || len(fp.tmps) < 2 {
		t.Fatalf("a row over the byte limit after %d parts: %v", len(fp.tmps), err)
	}
	fp.remove()
	if left, _ := os.ReadDir(failed); len(left) > 0 {
		t.Errorf("a failed export left %d files", len(left))
	}

	var out bytes.Buffer
	sp := &streamPart{bw: bufio.NewWriter(&out)}
	if _, err := crmExport("csv", each, nil, false, [2]int64{}, sp); err != nil {
		t.Fatal(err)
	}
	var whole bytes.Buffer
	if err := datasets.WriteScoresCSV(&whole, rows); err != nil || out.String() != whole.String() {
		t.Errorf("csv to a stream:\n%s\nwant\n%s (%v)", out.String(), whole.String(), err)
	}
	if _, err := sp.next(); err == nil {
		t.Error("a second part for a stream: no error")
	}
}
