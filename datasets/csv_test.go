package datasets

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func readAll(t *testing.T, csv string, opt ReadOptions) ([]Transaction, error) {
	t.Helper()
	var rows []Transaction
	_, err := ReadTransactions(context.Background(), "in.csv", strings.NewReader(csv), opt, func(tx Transaction) error {
		rows = append(rows, tx)
		return nil
	}, nil)
	return rows, err
}

func TestReadTransactions(t *testing.T) {
	in := "\ufeffCustomer,Invoice,Date,Sales,Qty\r\n007,A1,2024-01-02,10.50,2\r\n007,A1,2024-01-02,-1.25,\r\n\r\n0042,,20240103,3,1\r\n"
	rows, err := readAll(t, in, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("rows = %d, want 3", len(rows))
	}
	want := Transaction{CustomerID: "007", OrderID: "A1", TS: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC).UnixMicro(), AmountCents: 1050, Quantity: 2}
	if rows[0] != want {
		t.Errorf("row 0 = %+v, want %+v", rows[0], want)
	}
	if rows[1].AmountCents != -125 || rows[2].CustomerID != "0042" || rows[2].OrderID != "" {
		t.Errorf("rows = %+v", rows)
	}
}

func TestReadTransactionsMapping(t *testing.T) {
	in := "who,when,paid,value\nc1,2024-01-02,5.00,99\n"
	rows, err := readAll(t, in, ReadOptions{Map: ColumnMap{KeyCustomerID: "who", KeyTS: "when", KeyAmount: "paid"}})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].AmountCents != 500 {
		t.Errorf("amount = %d, want 500: explicit mapping must beat the 'value' alias", rows[0].AmountCents)
	}
}

func TestReadTransactionsErrors(t *testing.T) {
	future := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in       string
		opt            ReadOptions
		line, col      int
		field, message string
	}{
		{"bad amount", "customer_id,ts,amount\nc1,2024-01-01,1.00\nc2,2024-01-02,12x\n", ReadOptions{}, 3, 3, "amount", "not a number"},
		{"bad date", "customer_id,ts,amount\nc1,2024-02-30,1.00\n", ReadOptions{}, 2, 2, "ts", "day 30 out of range"},
		{"not a date", "customer_id,ts,amount\nc1,yesterday,1.00\n", ReadOptions{}, 2, 2, "ts", "want ISO 8601"},
		{"ambiguous date", "customer_id,ts,amount\nc1,03/04/2024,1.00\n", ReadOptions{}, 2, 2, "ts", "date_order"},
		{"absurd amount", "customer_id,ts,amount\nc1,2024-01-01,2000000\n", ReadOptions{MaxAmountCents: 100000000}, 2, 3, "amount", "beyond the bound"},
		{"decimal comma in a comma file", "customer_id;ts;amount\nc1;2024-01-01;1,5\n", ReadOptions{Values: ValueOptions{Decimal: '.'}}, 2, 3, "amount", "decimal"},
		{"future", "customer_id,ts,amount\nc1,2031-01-01,1.00\n", ReadOptions{NotAfter: future}, 2, 2, "ts", "future"},
		{"field count", "customer_id,ts,amount\nc1,2024-01-01\n", ReadOptions{}, 2, 0, "", "2 fields"},
		{"missing column", "customer_id,amount\nc1,1\n", ReadOptions{}, 1, 0, "", "no column for ts"},
		{"bad map", "customer_id,ts,amount\n", ReadOptions{Map: ColumnMap{KeyAmount: "nope"}}, 1, 0, "", `mapped column "nope"`},
		{"quote", "customer_id,ts,amount\n\"c1,2024-01-01,1\n", ReadOptions{}, 2, 0, "", "quote"},
		{"empty", "", ReadOptions{}, 1, 0, "", "empty file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.in, tc.opt)
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DataError", err)
			}
			if de.File != "in.csv" || de.Line != tc.line || (tc.col != 0 && de.Column != tc.col) || de.Field != tc.field {
				t.Errorf("error at %s:%d:%d field %q, want line %d col %d field %q (%v)", de.File, de.Line, de.Column, de.Field, tc.line, tc.col, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
		})
	}
}

func TestParseColumnMap(t *testing.T) {
	m, err := ParseColumnMap(" customer_id = cust , amount=sales")
	if err != nil || m[KeyCustomerID] != "cust" || m[KeyAmount] != "sales" || len(m) != 2 {
		t.Errorf("ParseColumnMap = %v, %v", m, err)
	}
	for _, bad := range []string{"customer_id", "foo=bar", "=x", "ts="} {
		if _, err := ParseColumnMap(bad); err == nil {
			t.Errorf("ParseColumnMap(%q): want an error", bad)
		}
	}
}

func FuzzParseColumnMap(f *testing.F) {
	f.Add("customer_id=a,ts=b")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseColumnMap(s)
		if err != nil {
			return
		}
		for k, v := range m {
			if !slices.Contains(MappingKeys, k) || v == "" {
				t.Fatalf("ParseColumnMap(%q) accepted %q=%q", s, k, v)
			}
		}
	})
}

func FuzzReadTransactions(f *testing.F) {
	f.Add("customer_id,ts,amount\nc1,2024-01-01,1.00\n")
	f.Add("id,date,sales,qty\n1,20240101,-2,3\n\"x\"\"y\",2024-01-01T00:00:00Z,0.01,\n")
	f.Fuzz(func(t *testing.T, in string) {
		var n int64
		var bad int64
		st, err := ReadTransactions(context.Background(), "f.csv", strings.NewReader(in), ReadOptions{}, func(tx Transaction) error {
			if tx.CustomerID == "" {
				t.Fatal("accepted a row without customer id")
			}
			n++
			return nil
		}, func(b BadRow) error {
			if b.Line < 1 || b.Reason == "" {
				t.Fatalf("bad row without line or reason: %+v", b)
			}
			bad++
			return nil
		})
		// A cancelled line delivers two rows (the line and its counterpart);
		// guests are set aside, neither good nor bad.
		if st.Loaded > n || st.Bad != bad || (err == nil && st.Rows != st.Loaded+bad+st.Guests) {
			t.Fatalf("stats %+v, delivered %d good and %d bad", st, n, bad)
		}
		var de *DataError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("non-data error from a reader of bytes: %v", err)
		}
		if de != nil && de.Line < 1 {
			t.Fatalf("data error without a line: %v", de)
		}
	})
}

// A record that cannot be read (a quote left open over the following
// lines) counts each of its lines as a bad row, and each is quarantined
// with its line number; the error's column is on the line it was found.
func TestUnreadableRecordQuarantinesEachLine(t *testing.T) {
	in := "customer_id,ts,amount\nc1,2024-01-01,1.00\n\"c2,2024-01-02,2.00\nc3,2024-01-03,3.00\nc4,2024-01-04,4.00"
	var bad []BadRow
	var good int
	st, err := ReadTransactions(context.Background(), "f.csv", strings.NewReader(in), ReadOptions{}, func(Transaction) error { good++; return nil },
		func(b BadRow) error { bad = append(bad, b); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if good != 1 || st.Rows != 4 || st.Bad != 3 || len(bad) != 3 {
		t.Fatalf("%d good, stats %+v, %d bad rows delivered; want 1 good, 4 rows, 3 bad", good, st, len(bad))
	}
	for k, b := range bad {
		if b.Line != 3+k || b.File != "f.csv" || !strings.Contains(b.Reason, "lines 3-5") {
			t.Errorf("bad row %d: %+v", k, b)
		}
		if wantCol := k == 2; (b.Column != 0) != wantCol {
			t.Errorf("bad row %d (line %d): column %d", k, b.Line, b.Column)
		}
	}
	// Read strictly, the same record is an error naming its first line.
	_, err = ReadTransactions(context.Background(), "f.csv", strings.NewReader(in), ReadOptions{}, func(Transaction) error { return nil }, nil)
	var de *DataError
	if !errors.As(err, &de) || de.Line != 3 || !strings.Contains(de.Msg, "line 5") {
		t.Fatalf("strict read: %v", err)
	}
}

// A row that needs a value its file has no column for (a csat answer in a
// feedback export without scores) is a bad row without a column, not a
// crash.
func TestBadRowOfAnUnmappedColumn(t *testing.T) {
	path := writeFile(t, t.TempDir(), "feedback.csv", []byte("customer_id,ts,kind\n1,2024-01-01,csat\n2,2024-01-02,complaint\n"))
	var bad []BadRow
	var good []Feedback
	st, err := ReadFeedbackFile(context.Background(), path, ReadOptions{}, func(f Feedback) error { good = append(good, f); return nil },
		func(b BadRow) error { bad = append(bad, b); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 2 || len(good) != 1 || good[0].Kind != "complaint" || len(bad) != 1 {
		t.Fatalf("stats %+v, good %+v, bad %+v", st, good, bad)
	}
	if b := bad[0]; b.Line != 2 || b.Column != 0 || b.Field != "" || !strings.Contains(b.Reason, "score") {
		t.Errorf("bad row %+v", b)
	}
}
