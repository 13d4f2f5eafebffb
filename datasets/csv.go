package datasets

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ColumnMap maps a mapping key (KeyCustomerID, KeyAmount, ...) to a source
// header name. Keys not present are recognised from the header automatically.
type ColumnMap map[string]string

// ParseColumnMap parses "key=header,key=header" as given to --map.
func ParseColumnMap(s string) (ColumnMap, error) {
	m := ColumnMap{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("datasets: --map entry %q: want key=column", part)
		}
		if !isMappingKey(k) {
			return nil, fmt.Errorf("datasets: --map key %q: want one of %s", k, strings.Join(MappingKeys, ", "))
		}
		m[k] = v
	}
	return m, nil
}

func isMappingKey(k string) bool {
	for _, mk := range MappingKeys {
		if mk == k {
			return true
		}
	}
	return false
}

// headerAliases are recognised header names per mapping key, lower-cased.
var headerAliases = map[string][]string{
	KeyCustomerID: {"customer_id", "customerid", "customer", "client_id", "user_id", "member_id", "cust", "id"},
	KeyOrderID:    {"order_id", "orderid", "order", "invoice", "invoice_no", "invoiceno", "transaction_id"},
	KeyTS:         {"ts", "timestamp", "date", "order_date", "created_at", "datetime", "time", "invoicedate"},
	KeyAmount:     {"amount", "sales", "revenue", "total", "value", "price", "spent", "dollar_value"},
	KeyQuantity:   {"quantity", "qty", "units", "cds"},
	KeyProductID:  {"product_id", "productid", "sku", "stockcode", "product"},
	KeyCategory:   {"category", "product_category"},
	KeyChannel:    {"channel", "sales_channel"},
}

// TransactionReadOptions configures ReadTransactionsCSV. The zero value reads
// a comma-separated UTF-8 file with recognised headers and no future check.
type TransactionReadOptions struct {
	Map ColumnMap
	// NotAfter rejects rows with a timestamp after it (future rows); zero disables.
	NotAfter time.Time
}

// ResolveColumns returns, per mapping key, the index of its column in header
// (-1 when absent). Explicit mappings must exist; customer_id, ts and amount are required.
func ResolveColumns(file string, header []string, m ColumnMap) (map[string]int, error) {
	idx := map[string]int{}
	lower := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := lower[h]; !dup {
			lower[h] = i
		}
	}
	for _, k := range MappingKeys {
		idx[k] = -1
		if src, ok := m[k]; ok {
			i, found := lower[strings.ToLower(src)]
			if !found {
				return nil, &DataError{File: file, Line: 1, Msg: fmt.Sprintf("mapped column %q for %s not in header %q", src, k, header)}
			}
			idx[k] = i
			continue
		}
		for _, alias := range headerAliases[k] {
			if i, found := lower[alias]; found {
				idx[k] = i
				break
			}
		}
	}
	// An alias must not take a column that an explicit mapping claimed.
	used := map[int]string{}
	keys := append([]string(nil), MappingKeys...)
	sort.SliceStable(keys, func(a, b int) bool { _, ea := m[keys[a]]; _, eb := m[keys[b]]; return ea && !eb })
	for _, k := range keys {
		if i := idx[k]; i >= 0 {
			if other, taken := used[i]; taken {
				if _, explicit := m[k]; explicit {
					return nil, &DataError{File: file, Line: 1, Msg: fmt.Sprintf("column %q mapped to both %s and %s", header[i], other, k)}
				}
				idx[k] = -1
				continue
			}
			used[i] = k
		}
	}
	for _, k := range []string{KeyCustomerID, KeyTS, KeyAmount} {
		if idx[k] < 0 {
			return nil, &DataError{File: file, Line: 1, Msg: fmt.Sprintf("no column for %s in header %q; map one with --map %s=<column>", k, header, k)}
		}
	}
	return idx, nil
}

// ReadTransactionsCSV streams a CSV file of transactions, calling fn for every
// row in file order. The first bad row stops the read with a *DataError that
// names the file, line and column.
func ReadTransactionsCSV(ctx context.Context, path string, opt TransactionReadOptions, fn func(Transaction) error) (rows int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return ReadTransactions(ctx, path, f, opt, fn)
}

// ReadTransactions is ReadTransactionsCSV on an open reader; name is used in errors.
func ReadTransactions(ctx context.Context, name string, r io.Reader, opt TransactionReadOptions, fn func(Transaction) error) (rows int64, err error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return 0, &DataError{File: name, Line: 1, Msg: "empty file: want a header row"}
	}
	if err != nil {
		return 0, csvError(name, err)
	}
	header = append([]string(nil), header...)
	idx, err := ResolveColumns(name, header, opt.Map)
	if err != nil {
		return 0, err
	}
	notAfter := int64(0)
	if !opt.NotAfter.IsZero() {
		notAfter = opt.NotAfter.UnixMicro()
	}
	get := func(rec []string, k string) string {
		if i := idx[k]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if rows%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			return rows, &DataError{File: name, Line: line, Msg: fmt.Sprintf("%d fields, header has %d", len(rec), len(header))}
		}
		bad := func(k, msg string) error {
			return &DataError{File: name, Line: line, Column: idx[k] + 1, Field: header[idx[k]], Msg: msg}
		}
		t := Transaction{CustomerID: get(rec, KeyCustomerID), OrderID: get(rec, KeyOrderID),
			ProductID: get(rec, KeyProductID), Category: get(rec, KeyCategory), Channel: get(rec, KeyChannel)}
		if t.CustomerID == "" {
			return rows, bad(KeyCustomerID, "empty customer id")
		}
		ts, err := ParseTimestamp(get(rec, KeyTS))
		if err != nil {
			return rows, bad(KeyTS, err.Error())
		}
		if notAfter != 0 && ts > notAfter {
			return rows, bad(KeyTS, fmt.Sprintf("timestamp %s is in the future", time.UnixMicro(ts).UTC().Format(time.RFC3339)))
		}
		t.TS = ts
		if t.AmountCents, err = ParseCents(get(rec, KeyAmount)); err != nil {
			return rows, bad(KeyAmount, err.Error())
		}
		if q := get(rec, KeyQuantity); q != "" {
			v, err := strconv.ParseInt(q, 10, 32)
			if err != nil {
				return rows, bad(KeyQuantity, fmt.Sprintf("quantity %q is not a whole number", q))
			}
			t.Quantity = int32(v)
		}
		if err := fn(t); err != nil {
			return rows, err
		}
		rows++
	}
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &DataError{File: name, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("datasets: read %s: %w", name, err)
}

var errNoLayout = errors.New("no layout")

var tsLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

// ParseTimestamp parses an ISO 8601 timestamp or date, or YYYYMMDD, and returns
// microseconds since the epoch, UTC. Times without an offset are taken as UTC;
// dates without a time are midnight UTC.
func ParseTimestamp(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty timestamp")
	}
	var t time.Time
	var err error = errNoLayout
	switch len(s) {
	case 10:
		t, err = time.Parse("2006-01-02", s)
	case 8:
		t, err = time.Parse("20060102", s)
	}
	for _, l := range tsLayouts {
		if err == nil {
			break
		}
		t, err = time.Parse(l, s)
	}
	if err == nil {
		if y := t.Year(); y < 1900 || y > 9999 {
			return 0, fmt.Errorf("timestamp %q: year %d out of range 1900..9999", s, y)
		}
		return t.UTC().UnixMicro(), nil
	}
	return 0, fmt.Errorf("timestamp %q: want ISO 8601 (2024-03-05, 2024-03-05T14:22:10Z) or YYYYMMDD", s)
}

// ParseCents parses a decimal amount in currency units ("12.34", "-5", "0.5")
// into integer cents exactly, without floating point. More than two decimals
// are rounded half away from zero.
func ParseCents(s string) (int64, error) {
	orig := s
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("amount %q is not a number", orig)
	}
	var cents int64
	for _, c := range intPart {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q is not a number", orig)
		}
		if cents > (1<<62)/10 {
			return 0, fmt.Errorf("amount %q is too large", orig)
		}
		cents = cents*10 + int64(c-'0')
	}
	cents *= 100
	for i, c := range frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q is not a number", orig)
		}
		switch {
		case i == 0:
			cents += 10 * int64(c-'0')
		case i == 1:
			cents += int64(c - '0')
		case i == 2 && c >= '5':
			cents++
		}
	}
	if neg {
		cents = -cents
	}
	return cents, nil
}
