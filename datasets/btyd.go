package datasets

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ReadCDNOW streams the CDNOW text layout (Fader & Hardie's CDNOW_master.txt:
// "customer_id date number_of_cds dollar_value", whitespace-separated,
// optional header; or CDNOW_sample.txt with a sample id after the master id)
// strictly: the first bad row ends the read with a *DataError. It is the
// shared transactions reader with --format cdnow.
func ReadCDNOW(ctx context.Context, path string, fn func(Transaction) error) (int64, error) {
	st, err := ReadTransactionFile(ctx, path, ReadOptions{SourceOptions: SourceOptions{Format: FormatCDNOW}}, fn, nil)
	return st.Loaded, err
}

func readCDNOW(ctx context.Context, name string, r io.Reader, fn func(Transaction) error) (int64, error) {
	st, err := ReadTransactions(ctx, name, r, ReadOptions{SourceOptions: SourceOptions{Format: FormatCDNOW}}, fn, nil)
	return st.Loaded, err
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// SummaryRow is one customer of a BTYD summary file.
type SummaryRow struct {
	ID       string
	X, Tx, T float64 // frequency, recency, age (BG/BB: x, t_x, n)
	Monetary float64 // mean repeat transaction value; NaN when the file has none
	Weight   float64 // customers this row stands for; 1 when the file has none
}

var summaryAliases = map[string][]string{
	"id":       {"id", "cust", "customer_id", "customer"},
	"x":        {"x", "frequency"},
	"tx":       {"t_x", "t.x", "recency"},
	"T":        {"t", "t.cal", "n", "n.cal"},
	"monetary": {"monetary_value", "monetary", "m.x", "zbar"},
	"weight":   {"weight", "count", "custs"},
}

// ReadSummary reads a BTYD summary CSV with columns frequency|x,
// recency|t_x|t.x, T|T.cal|n, and optionally monetary_value|m.x|zbar and
// weight|count (lifetimes', BTYD's and CLVTools' names).
func ReadSummary(path string) ([]SummaryRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return readSummary(path, f)
}

func readSummary(name string, r io.Reader) ([]SummaryRow, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &DataError{File: name, Line: 1, Msg: "empty file: want a header row"}
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	col := map[string]int{}
	for key, names := range summaryAliases {
		col[key] = -1
		for i, h := range header {
			h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
			if slices.Contains(names, h) {
				col[key] = i
				break
			}
		}
	}
	for _, k := range []string{"x", "tx", "T"} {
		if col[k] < 0 {
			return nil, &DataError{File: name, Line: 1, Msg: fmt.Sprintf("no %s column in header %q; want one of %v", k, header, summaryAliases[k])}
		}
	}
	var out []SummaryRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("%d fields, header has %d", len(rec), len(header))}
		}
		num := func(k string) (float64, error) {
			s := strings.TrimSpace(rec[col[k]])
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || math.IsNaN(v) || v > 1e15 {
				return 0, &DataError{File: name, Line: line, Column: col[k] + 1, Field: header[col[k]], Msg: fmt.Sprintf("%q is not a number ≥ 0", s)}
			}
			return v, nil
		}
		row := SummaryRow{Monetary: math.NaN(), Weight: 1}
		if col["id"] >= 0 {
			row.ID = rec[col["id"]]
		} else {
			row.ID = strconv.Itoa(len(out) + 1)
		}
		if row.X, err = num("x"); err != nil {
			return nil, err
		}
		if row.Tx, err = num("tx"); err != nil {
			return nil, err
		}
		if row.T, err = num("T"); err != nil {
			return nil, err
		}
		if col["monetary"] >= 0 {
			if row.Monetary, err = num("monetary"); err != nil {
				return nil, err
			}
		}
		if col["weight"] >= 0 {
			if row.Weight, err = num("weight"); err != nil {
				return nil, err
			}
		}
		out = append(out, row)
	}
	if len(out) == 0 {
		return nil, &DataError{File: name, Line: 2, Msg: "no rows after the header"}
	}
	return out, nil
}

// TransactionsRecord builds one Arrow record batch of canonical transactions
// sorted as the warehouse stores them (customer_id, then ts), for in-memory
// analyses of small inputs; non-product lines (shipping, fees ...) are left
// out. The caller releases it.
func TransactionsRecord(mem memory.Allocator, rows []Transaction) arrow.RecordBatch {
	rows = slices.DeleteFunc(slices.Clone(rows), func(t Transaction) bool { return IsNonProduct(t.LineKind) })
	slices.SortFunc(rows, compareTx)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: ColCustomerID, Type: arrow.BinaryTypes.String},
		{Name: ColOrderID, Type: arrow.BinaryTypes.String},
		{Name: ColTS, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: ColAmountCents, Type: arrow.PrimitiveTypes.Int64},
		{Name: ColQuantity, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColCategory, Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Reserve(len(rows))
	for _, t := range rows {
		b.Field(0).(*array.StringBuilder).Append(t.CustomerID)
		b.Field(1).(*array.StringBuilder).Append(t.OrderID)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(t.TS))
		b.Field(3).(*array.Int64Builder).Append(t.AmountCents)
		b.Field(4).(*array.Int32Builder).Append(t.Quantity)
		b.Field(5).(*array.StringBuilder).Append(t.Category)
	}
	return b.NewRecordBatch()
}

// WriteCSVFile writes a header and rows as UTF-8 CSV to path atomically.
func WriteCSVFile(path string, header []string, rows [][]string) error {
	var b strings.Builder
	cw := csv.NewWriter(&b)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	return WriteFileAtomic(path, []byte(b.String()))
}
