package datasets

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadCustomerFile(t *testing.T) {
	in := "会员号,注册时间,邮箱,手机,国家,性别,会员等级\n" +
		"007,2024-03-05,Ann@Example.COM,+86 138,cn,f,gold\n" +
		"008,,,,,,\n" +
		",2024-01-01,x@y.z,,,,\n" + // line 4: empty id
		"009,yesterday,,,,m,\n" // line 5: bad signup date
	path := writeFile(t, t.TempDir(), "customers.csv", []byte(in))
	var rows []Customer
	var bad []BadRow
	st, err := ReadCustomerFile(context.Background(), path, ReadOptions{}, func(c Customer) error { rows = append(rows, c); return nil },
		func(b BadRow) error { bad = append(bad, b); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []Customer{
		{CustomerID: "007", SignupTS: day(2024, 3, 5), Email: "ann@example.com", Phone: "+86 138", Country: "CN", Attributes: `{"会员等级":"gold","性别":"f"}`},
		{CustomerID: "008"},
	}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Errorf("rows %+v, want %+v", rows, want)
	}
	if len(bad) != 2 || bad[0].Line != 4 || bad[0].Field != "会员号" || bad[1].Line != 5 || bad[1].Field != "注册时间" || st.Rows != 4 {
		t.Errorf("bad %+v, stats %+v", bad, st)
	}
}

func TestReadFeedbackFile(t *testing.T) {
	in := "customer_id,date,type,rating\n" +
		"c1,2025-01-01,NPS,9\n" +
		"c1,2025-01-02,投诉,\n" +
		"c2,2025-01-03,CSAT,4\n" +
		"c2,2025-01-04,nps,11\n" + // line 5: out of range
		"c3,2025-01-05,nps,\n" + // line 6: survey without score
		"c3,2025-01-06,praise,5\n" + // line 7: unknown kind
		"c3,2031-01-01,ces,3\n" + // line 8: future
		"c4,2025-01-07,Customer Effort,2\n" +
		"c5,2025-01-08,退订,\n" +
		"c5,2025-01-09,续费,\n" +
		"c6,2025-01-10,Cancellation,\n" +
		"c6,2025-01-11,Renewal,\n"
	path := writeFile(t, t.TempDir(), "feedback.csv", []byte(in))
	var rows []Feedback
	var bad []BadRow
	_, err := ReadFeedbackFile(context.Background(), path, ReadOptions{NotAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		func(f Feedback) error { rows = append(rows, f); return nil }, func(b BadRow) error { bad = append(bad, b); return nil })
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, r := range rows {
		kinds = append(kinds, r.Kind)
	}
	if strings.Join(kinds, ",") != "nps,complaint,csat,ces,cancel,subscribe,cancel,subscribe" || rows[0].Score != 9 || !math.IsNaN(rows[1].Score) || rows[3].Score != 2 {
		t.Errorf("rows %+v", rows)
	}
	wantBad := []struct {
		line   int
		field  string
		reason string
	}{{5, "rating", "outside 0–10"}, {6, "rating", "without a score"}, {7, "type", "want one of"}, {8, "date", "future"}}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad rows %+v", bad)
	}
	for i, w := range wantBad {
		if b := bad[i]; b.Line != w.line || b.Field != w.field || !strings.Contains(b.Reason, w.reason) {
			t.Errorf("bad row %d = %+v, want line %d field %s reason %q", i, b, w.line, w.field, w.reason)
		}
	}
}

// Customers: the newest row per customer wins; feedback: identical rows
// are kept once; both survive a change of bucket count; round trip.
func TestCommitCustomersAndFeedback(t *testing.T) {
	work := t.TempDir()
	ctx := context.Background()
	if _, err := CommitCustomers(ctx, work, 3, []Customer{{CustomerID: "a", Email: "old@x"}, {CustomerID: "b"}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := CommitCustomers(ctx, work, 3, []Customer{{CustomerID: "b", Phone: "1", Attributes: `{"k":"1","z":"2"}`}}, false); err != nil {
		t.Fatal(err)
	}
	info, err := CommitCustomers(ctx, work, 5, []Customer{{CustomerID: "a", Email: "mid@x"}, {CustomerID: "c"}, {CustomerID: "a", Email: "new@x"},
		{CustomerID: "b", Attributes: `{"k":"3"}`}}, false)
	if err != nil || info.Rows != 3 || info.Customers != 3 || info.Dropped != 3 {
		t.Fatalf("info %+v, %v", info, err)
	}
	got, err := ReadCustomers(work)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Customer{}
	for _, c := range got {
		byID[c.CustomerID] = c
	}
	if b := byID["b"]; len(got) != 3 || byID["a"].Email != "new@x" || b.Phone != "1" || b.Attributes != `{"k":"3","z":"2"}` {
		t.Errorf("customers %+v", got)
	}
	for b := range 5 { // one row a customer: plain ids, no dictionary of them
		checkDictionaryPages(t, filepath.Join(BucketDir(filepath.Join(work, CustomersDir), b), "part-00000.parquet"), map[string]bool{KeyCustomerID: false})
	}
	nan := math.NaN()
	fb := []Feedback{{"a", 1, "nps", 9}, {"a", 2, "complaint", nan}, {"b", 1, "csat", 4}}
	if _, err := CommitFeedback(ctx, work, 3, fb, false); err != nil {
		t.Fatal(err)
	}
	info, err = CommitFeedback(ctx, work, 3, append(fb[1:], Feedback{"c", 5, "ces", 2}), false)
	if err != nil || info.Rows != 4 || info.Dropped != 2 {
		t.Fatalf("feedback info %+v, %v", info, err)
	}
	back, _ := ReadFeedback(work)
	if len(back) != 4 {
		t.Errorf("feedback %+v", back)
	}
	if info, err := CommitFeedback(ctx, work, 3, fb[:1], true); err != nil || info.Rows != 1 {
		t.Errorf("replace: %+v, %v", info, err)
	}
}

// A bucket's feedback read column by column equals the rows read through
// the row reader, NaN scores and interned kinds included, in stored order.
func TestFeedbackForBucketColumns(t *testing.T) {
	ctx := context.Background()
	// 300 rows in four buckets, and 70,000 in one: more than a record
	// batch, with a customer's rows across the batches' boundary.
	for _, c := range []struct{ rows, custs, buckets int }{{300, 37, 4}, {70_000, 9_000, 1}} {
		work := t.TempDir()
		var fb []Feedback
		for i := range c.rows {
			score := float64(i % 11)
			kind := []string{"nps", "complaint", "survey", "csat"}[i%4]
			if kind == "complaint" || kind == "survey" {
				score = math.NaN()
			}
			if kind == "csat" {
				score = float64(1 + i%5)
			}
			fb = append(fb, Feedback{CustomerID: fmt.Sprintf("c%05d", i%c.custs), TS: int64(i) * 1e9, Kind: kind, Score: score})
		}
		if _, err := CommitFeedback(ctx, work, c.buckets, fb, false); err != nil {
			t.Fatal(err)
		}
		total := 0
		for b := range c.buckets {
			got, err := FeedbackForBucket(work, b, c.buckets)
			if err != nil {
				t.Fatal(err)
			}
			part := filepath.Join(BucketDir(filepath.Join(work, FeedbackDir), b), "part-00000.parquet")
			want, err := readParquetRows[Feedback](part)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
				t.Fatalf("%d rows, bucket %d: %d rows, want %d:\n%v\n%v", c.rows, b, len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
			}
			// Plain customer ids (a bucket's dictionary would hold every
			// customer of it); the kinds keep their dictionary.
			checkDictionaryPages(t, part, map[string]bool{KeyCustomerID: false, KeyKind: true})
			total += len(got)
		}
		if total != len(fb) {
			t.Fatalf("%d rows in the buckets, want %d", total, len(fb))
		}
	}
}
