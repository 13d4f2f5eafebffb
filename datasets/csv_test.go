package datasets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCents(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"12.34", 1234, false}, {"-5", -500, false}, {"0.5", 50, false}, {"+7.01", 701, false},
		{".25", 25, false}, {"3.", 300, false}, {"1.005", 101, false}, {"1.004", 100, false},
		{"-0.015", -2, false}, {"1000000", 100000000, false},
		{"", 0, true}, {"abc", 0, true}, {"1,5", 0, true}, {"$3", 0, true}, {"-", 0, true}, {".", 0, true},
		{"1.2.3", 0, true}, {"99999999999999999999", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseCents(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseCents(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	us := func(s string) int64 { tm, _ := time.Parse(time.RFC3339, s); return tm.UnixMicro() }
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"2024-03-05", us("2024-03-05T00:00:00Z"), false},
		{"20240305", us("2024-03-05T00:00:00Z"), false},
		{"2024-03-05T14:22:10Z", us("2024-03-05T14:22:10Z"), false},
		{"2024-03-05T14:22:10+08:00", us("2024-03-05T06:22:10Z"), false},
		{"2024-03-05 14:22:10", us("2024-03-05T14:22:10Z"), false},
		{"2024-03-05T14:22:10.5Z", us("2024-03-05T14:22:10Z") + 500000, false},
		{"", 0, true}, {"yesterday", 0, true}, {"2024-13-01", 0, true}, {"05/03/2024", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseTimestamp(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseTimestamp(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func readAll(t *testing.T, csv string, opt TransactionReadOptions) ([]Transaction, error) {
	t.Helper()
	var rows []Transaction
	_, err := ReadTransactions(context.Background(), "in.csv", strings.NewReader(csv), opt, func(tx Transaction) error {
		rows = append(rows, tx)
		return nil
	})
	return rows, err
}

func TestReadTransactions(t *testing.T) {
	in := "\ufeffCustomer,Invoice,Date,Sales,Qty\r\n007,A1,2024-01-02,10.50,2\r\n007,A1,2024-01-02,-1.25,\r\n\r\n0042,,20240103,3,1\r\n"
	rows, err := readAll(t, in, TransactionReadOptions{})
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
	rows, err := readAll(t, in, TransactionReadOptions{Map: ColumnMap{KeyCustomerID: "who", KeyTS: "when", KeyAmount: "paid"}})
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
		opt            TransactionReadOptions
		line, col      int
		field, message string
	}{
		{"bad amount", "customer_id,ts,amount\nc1,2024-01-01,1.00\nc2,2024-01-02,12x\n", TransactionReadOptions{}, 3, 3, "amount", "not a number"},
		{"bad date", "customer_id,ts,amount\nc1,2024-02-30,1.00\n", TransactionReadOptions{}, 2, 2, "ts", "want ISO 8601"},
		{"empty id", "customer_id,ts,amount\n ,2024-01-01,1.00\n", TransactionReadOptions{}, 2, 1, "customer_id", "empty customer id"},
		{"future", "customer_id,ts,amount\nc1,2031-01-01,1.00\n", TransactionReadOptions{NotAfter: future}, 2, 2, "ts", "future"},
		{"field count", "customer_id,ts,amount\nc1,2024-01-01\n", TransactionReadOptions{}, 2, 0, "", "2 fields"},
		{"missing column", "customer_id,amount\nc1,1\n", TransactionReadOptions{}, 1, 0, "", "no column for ts"},
		{"bad map", "customer_id,ts,amount\n", TransactionReadOptions{Map: ColumnMap{KeyAmount: "nope"}}, 1, 0, "", `mapped column "nope"`},
		{"quote", "customer_id,ts,amount\n\"c1,2024-01-01,1\n", TransactionReadOptions{}, 2, 0, "", "quote"},
		{"empty", "", TransactionReadOptions{}, 1, 0, "", "empty file"},
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

func FuzzParseCents(f *testing.F) {
	for _, s := range []string{"12.34", "-0.005", "+1", ".5", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCents(s)
		if err != nil {
			return
		}
		// A parsed amount written back with two decimals must parse to itself.
		back, err := ParseCents(string(appendCents(nil, c)))
		if err != nil || back != c {
			t.Fatalf("ParseCents(%q) = %d; round trip gave %d, %v", s, c, back, err)
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-03-05", "20240305", "2024-03-05T14:22:10+08:00", "2024-03-05 14:22"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, err := ParseTimestamp(s)
		if err != nil {
			return
		}
		if y := time.UnixMicro(us).UTC().Year(); y < 1899 || y > 10000 {
			t.Fatalf("ParseTimestamp(%q) gave year %d", s, y)
		}
	})
}

func FuzzParseColumnMap(f *testing.F) {
	f.Add("customer_id=a,ts=b")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseColumnMap(s)
		if err != nil {
			return
		}
		for k, v := range m {
			if !isMappingKey(k) || v == "" {
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
		rows, err := ReadTransactions(context.Background(), "f.csv", strings.NewReader(in), TransactionReadOptions{}, func(tx Transaction) error {
			if tx.CustomerID == "" {
				t.Fatal("accepted a row without customer id")
			}
			n++
			return nil
		})
		if rows != n {
			t.Fatalf("reported %d rows, delivered %d", rows, n)
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
