package datasets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// randomCustomers returns n customer rows over custs ids, with empty
// fields, non-ASCII text and attributes, in a fixed random order.
func randomCustomers(rng *rand.Rand, n, custs int) []Customer {
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	out := make([]Customer, n)
	for i := range out {
		out[i] = Customer{CustomerID: fmt.Sprintf("c%04d", rng.IntN(custs)), SignupTS: rng.Int64N(4e15) - 2e15,
			Email: pick("", "a@x", "张三@例子.中国"), Phone: pick("", "+86 138 0013 8000", "1"), Country: pick("", "CN", "DE"),
			Attributes: pick("", `{"tier":"gold"}`, `{"gender":"f","tier":"silver"}`, `{"城市":"上海"}`)}
	}
	return out
}

// randomFeedback returns n feedback rows over custs ids, with repeats, NaN
// and negative-zero scores.
func randomFeedback(rng *rand.Rand, n, custs int) []Feedback {
	out := make([]Feedback, n)
	for i := range out {
		kind := FeedbackKinds[rng.IntN(len(FeedbackKinds))]
		score := []float64{math.NaN(), 0, math.Copysign(0, -1), 9, 4.5, -1e300}[rng.IntN(6)]
		out[i] = Feedback{CustomerID: fmt.Sprintf("c%04d", rng.IntN(custs)), TS: int64(rng.IntN(50)) * 1e6, Kind: kind, Score: score}
	}
	return out
}

// Every row comes back from its spill form as it went in (scores to the
// bit), rows follow each other, and every cut short row is refused.
func TestTableSpillRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	custs := append(randomCustomers(rng, 500, 50), Customer{}, Customer{CustomerID: strings.Repeat("x", 300), SignupTS: math.MinInt64, Attributes: strings.Repeat("é", 200)})
	fbs := append(randomFeedback(rng, 500, 50), Feedback{}, Feedback{TS: math.MaxInt64, Score: math.Inf(-1)})
	roundTrip(t, customersTable, custs, func(a, b Customer) bool { return a == b })
	roundTrip(t, feedbackTable, fbs, func(a, b Feedback) bool {
		return a.CustomerID == b.CustomerID && a.TS == b.TS && a.Kind == b.Kind && math.Float64bits(a.Score) == math.Float64bits(b.Score)
	})
}

func roundTrip[T any](t *testing.T, tb table[T], rows []T, equal func(a, b T) bool) {
	t.Helper()
	var p []byte
	for i := range rows {
		one := tb.encode(nil, &rows[i])
		for cut := range len(one) {
			var r T
			if _, err := tb.decode(one[:cut], &r); !errors.Is(err, errSpillCorrupt) {
				t.Fatalf("%s row %d cut to %d of %d bytes: %v, want errSpillCorrupt", tb.kind, i, cut, len(one), err)
			}
		}
		p = tb.encode(p, &rows[i])
	}
	for i := range rows {
		var r T
		var err error
		if p, err = tb.decode(p, &r); err != nil {
			t.Fatalf("%s row %d: %v", tb.kind, i, err)
		}
		if !equal(r, rows[i]) {
			t.Fatalf("%s row %d: got %+v, want %+v", tb.kind, i, r, rows[i])
		}
	}
	if len(p) != 0 {
		t.Fatalf("%s: %d bytes left", tb.kind, len(p))
	}
}

// Ingests of random exports through the writers, with the bucket count
// changed between them and a replace, give the tables the merge rules
// describe (computed here from all the rows in memory, as the writer no
// longer holds them): a customer's rows folded oldest first, field by
// field; feedback rows once each, sorted. No spill file outlives a writer.
func TestTableWriterMerges(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	work := t.TempDir()
	var allCusts []Customer
	var allFb []Feedback
	for k, c := range []struct {
		buckets int
		replace bool
	}{{3, false}, {3, false}, {5, false}, {1, false}, {4, true}, {4, false}} {
		custs, fbs := randomCustomers(rng, 400, 120), randomFeedback(rng, 600, 120)
		if c.replace {
			allCusts, allFb = nil, nil
		}
		allCusts, allFb = append(allCusts, custs...), append(allFb, fbs...)
		cw, err := NewCustomersWriter(work, c.buckets)
		if err != nil {
			t.Fatal(err)
		}
		fw, err := NewFeedbackWriter(work, c.buckets)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range custs {
			if err := cw.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range fbs {
			r.Kind = strings.Clone(r.Kind) // Add must not keep the caller's strings
			if err := fw.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		ci, err := cw.Commit(ctx, c.replace)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := fw.Commit(ctx, c.replace)
		if err != nil {
			t.Fatal(err)
		}
		if err := cw.Add(Customer{CustomerID: "late"}); err == nil {
			t.Error("a row added after the commit was accepted")
		}
		if _, err := cw.Commit(ctx, false); err == nil {
			t.Error("a second commit was accepted")
		}
		cw.Close()
		fw.Close()

		wantCusts := referenceCustomers(allCusts)
		gotCusts, err := ReadCustomers(work)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortStableFunc(gotCusts, customersTable.compare)
		if !slices.Equal(gotCusts, wantCusts) {
			t.Fatalf("ingest %d (%d buckets): %d customers, want %d\ngot  %+v\nwant %+v", k, c.buckets, len(gotCusts), len(wantCusts), gotCusts[:min(3, len(gotCusts))], wantCusts[:3])
		}
		if ci.Rows != int64(len(wantCusts)) || ci.Customers != int64(len(wantCusts)) {
			t.Errorf("ingest %d: customers info %+v, want %d rows", k, ci, len(wantCusts))
		}
		wantFb := referenceFeedback(allFb)
		gotFb, err := ReadFeedback(work)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortStableFunc(gotFb, compareFeedback)
		if len(gotFb) != len(wantFb) || fi.Rows != int64(len(wantFb)) {
			t.Fatalf("ingest %d: %d feedback rows (info %+v), want %d", k, len(gotFb), fi, len(wantFb))
		}
		for i := range wantFb {
			if !sameFeedback(gotFb[i], wantFb[i]) {
				t.Fatalf("ingest %d: feedback row %d %+v, want %+v", k, i, gotFb[i], wantFb[i])
			}
		}
		left, _ := filepath.Glob(filepath.Join(work, ".ingest.tmp-*"))
		if len(left) > 0 {
			t.Fatalf("spill folders left behind: %v", left)
		}
	}
}

func referenceCustomers(rows []Customer) []Customer {
	byID := map[string]Customer{}
	for _, r := range rows {
		if old, ok := byID[r.CustomerID]; ok {
			r = mergeCustomer(old, r)
		}
		byID[r.CustomerID] = r
	}
	out := make([]Customer, 0, len(byID))
	for _, c := range byID {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Customer) int { return cmp.Compare(a.CustomerID, b.CustomerID) })
	return out
}

func referenceFeedback(rows []Feedback) []Feedback {
	s := slices.Clone(rows)
	slices.SortStableFunc(s, compareFeedback)
	return slices.CompactFunc(s, sameFeedback)
}

// A commit that fails (here: cancelled) leaves the stored table as it was
// and removes its spill files on Close.
func TestTableWriterFailedCommit(t *testing.T) {
	work := t.TempDir()
	ctx := context.Background()
	if _, err := CommitCustomers(ctx, work, 2, []Customer{{CustomerID: "a", Email: "kept@x"}}, false); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, filepath.Join(work, CustomersDir))
	w, err := NewCustomersWriter(work, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(Customer{CustomerID: "a", Email: "lost@x"}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.Commit(cancelled, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("commit: %v, want context.Canceled", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if after := snapshotDir(t, filepath.Join(work, CustomersDir)); !maps.Equal(before, after) {
		t.Errorf("the stored table changed: %v → %v", before, after)
	}
	if left, _ := filepath.Glob(filepath.Join(work, ".ingest.tmp-*")); len(left) > 0 {
		t.Errorf("spill folders left behind: %v", left)
	}
}

// snapshotDir returns every file under dir with its bytes.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[strings.TrimPrefix(path, dir)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// EachContact gives every stored customer's id, email and phone as the
// whole rows have them; without a customers table, an fs.ErrNotExist.
func TestEachContact(t *testing.T) {
	work := t.TempDir()
	if err := EachContact(work, func(string, string, string) {}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no table: %v, want fs.ErrNotExist", err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	if _, err := CommitCustomers(context.Background(), work, 3, randomCustomers(rng, 300, 200), false); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadCustomers(work)
	if err != nil {
		t.Fatal(err)
	}
	var got []Customer
	if err := EachContact(work, func(id, email, phone string) {
		got = append(got, Customer{CustomerID: strings.Clone(id), Email: strings.Clone(email), Phone: strings.Clone(phone)})
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("%d contacts, %d customers", len(got), len(rows))
	}
	for i, r := range rows {
		if want := (Customer{CustomerID: r.CustomerID, Email: r.Email, Phone: r.Phone}); got[i] != want {
			t.Fatalf("contact %d: %+v, want %+v", i, got[i], want)
		}
	}
}
