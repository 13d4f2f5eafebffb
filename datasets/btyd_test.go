package datasets

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/internal/testutil"
)

func TestReadCDNOWShared(t *testing.T) {
	// ../shared/data/README.md: master 69,659 rows, 23,570 customers, total $2,500,315.63;
	// sample 6,919 rows (5 columns, no header), total $244,091.94.
	for _, tc := range []struct {
		file      string
		rows      int64
		customers int
		cents     int64
	}{
		{"cdnow/CDNOW_master.txt", 69659, 23570, 250031563},
		{"cdnow/CDNOW_sample.txt", 6919, 2357, 24409194},
	} {
		ids := map[string]bool{}
		var total int64
		n, err := ReadCDNOW(context.Background(), testutil.SharedData(t, tc.file), func(tx Transaction) error {
			ids[tx.CustomerID] = true
			total += tx.AmountCents
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.rows || len(ids) != tc.customers || total != tc.cents {
			t.Errorf("%s: %d rows, %d customers, %d cents; want %d, %d, %d", tc.file, n, len(ids), total, tc.rows, tc.customers, tc.cents)
		}
	}
}

func TestReadCDNOWErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"00001 19970101 1 11.77\n00002 1997011 1 9.99\n", "cdnow.txt:2:2"},
		{"00001 19970101 x 11.77\n", "cdnow.txt:1:3"},
		{"00001 19970101 1 abc\n", "cdnow.txt:1:4"},
		{"00001 19970101\n", "cdnow.txt:1: 2 fields"},
	} {
		_, err := readCDNOW(context.Background(), "cdnow.txt", strings.NewReader(tc.in), func(Transaction) error { return nil })
		var de *DataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want a data error at %s", tc.in, err, tc.want)
		}
	}
}

func TestReadSummary(t *testing.T) {
	rows, err := readSummary("s.csv", strings.NewReader("ID,frequency,recency,T,monetary_value\n1,2,30.43,38.86,22.5\n2,0,0,38.86,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].X != 2 || rows[0].Tx != 30.43 || rows[0].T != 38.86 || rows[0].Monetary != 22.5 || rows[1].Weight != 1 {
		t.Errorf("rows = %+v", rows)
	}
	rows, err = readSummary("s.csv", strings.NewReader("cust,x,t.x,T.cal,x.star,m.x\n1,1,2,3,0,4\n"))
	if err != nil || rows[0].Monetary != 4 || rows[0].T != 3 {
		t.Errorf("BTYD names: %+v, %v", rows, err)
	}
	rows, err = readSummary("s.csv", strings.NewReader("x,t_x,n,count\n1,2,6,10\n"))
	if err != nil || rows[0].Weight != 10 || !math.IsNaN(rows[0].Monetary) || rows[0].ID != "1" {
		t.Errorf("weights: %+v, %v", rows, err)
	}
	for _, bad := range []string{"x,T\n1,2\n", "x,t_x,T\n1,-2,3\n", "x,t_x,T\n1,a,3\n", "x,t_x,T\n", ""} {
		if _, err := readSummary("s.csv", strings.NewReader(bad)); !IsDataError(err) {
			t.Errorf("%q: err = %v, want a data error", bad, err)
		}
	}
}

func TestTransactionsRecordSorted(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec := TransactionsRecord(mem, []Transaction{{CustomerID: "b", TS: 1}, {CustomerID: "a", TS: 5}, {CustomerID: "a", TS: 2}})
	defer rec.Release()
	if rec.NumRows() != 3 || rec.Column(0).ValueStr(0) != "a" || rec.Column(2).ValueStr(0) >= rec.Column(2).ValueStr(1) {
		t.Errorf("record not sorted: %v", rec)
	}
}

func FuzzReadCDNOW(f *testing.F) {
	f.Add("customer_id date number_of_cds dollar_value\n00001 19970101 1 11.77\n")
	f.Add("00001 0001 19970101 2 0.00\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, err := readCDNOW(context.Background(), "f", strings.NewReader(in), func(tx Transaction) error {
			if tx.CustomerID == "" {
				t.Fatal("empty customer id accepted")
			}
			return nil
		})
		if err != nil && !IsDataError(err) {
			t.Fatalf("non-data error: %v", err)
		}
	})
}

func FuzzReadSummary(f *testing.F) {
	f.Add("ID,frequency,recency,T\n1,2,30.43,38.86\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := readSummary("f", strings.NewReader(in))
		if err != nil {
			if !IsDataError(err) {
				t.Fatalf("non-data error: %v", err)
			}
			return
		}
		for _, r := range rows {
			if r.X < 0 || r.Tx < 0 || r.T < 0 || math.IsNaN(r.X) {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}
