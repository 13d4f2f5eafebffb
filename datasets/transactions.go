package datasets

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ReadOptions configures ReadTransactionFile. The zero value detects the
// format, encoding and delimiter, recognises the headers and reads dates and
// amounts that describe themselves.
type ReadOptions struct {
	SourceOptions
	Map    ColumnMap
	Values ValueOptions // Decimal 0: ',' for ;-separated CSV (European Excel), else '.'
	// NotAfter rejects rows with a timestamp after it (future rows); zero disables.
	NotAfter time.Time
	// MaxAmountCents rejects rows whose |amount| exceeds it; zero disables.
	MaxAmountCents int64
	// GuestKey GuestKeyEmail makes a row without a customer id take its
	// normalised email as the id; otherwise such rows are guest checkouts,
	// counted and set aside (neither loaded nor bad).
	GuestKey string
	// CancelPrefix marks cancellation invoices by their order id's prefix
	// (e.g. "C" as in C536379); empty disables.
	CancelPrefix string
	// CancelStatuses are the statuses that cancel a line; nil means
	// DefaultCancelStatuses.
	CancelStatuses []string
	// NonProduct classifies shipping, fee, voucher and adjustment lines;
	// nil means DefaultNonProduct, an empty slice none.
	NonProduct []NonProductRule
	// Aliases replace the recognised header names of the keys they list
	// (a preset's; see ApplyPreset). GuestIDs are customer ids that mean
	// "none", e.g. WooCommerce's 0 for guests.
	Aliases  map[string][]string
	GuestIDs []string
	// Workers > 1 parses a CSV transactions file on that many goroutines
	// (the callbacks still run on one, in file order).
	Workers int
	// SHA256, when set, is the file's hash computed beforehand (ingest
	// fingerprints every file to skip those it has seen); the read then
	// does not hash the bytes again.
	SHA256 string
	chunk  int // bytes per parallel chunk (0: defaultChunk); tests cut small ones
}

// GuestKeyEmail is the ReadOptions.GuestKey that identifies guests by email.
const GuestKeyEmail = "email"

// BadRow is a row that ingest set aside, with where and why.
type BadRow struct {
	File   string
	Line   int    // CSV/CDNOW line, Parquet row number
	Column int    // 1-based field, 0 for the whole row
	Field  string // column header, when known
	Reason string
	Raw    string // the row as read, re-joined with its delimiter
}

// FileStats describes one input file after a read.
type FileStats struct {
	File    string
	Format  string            // what was detected, e.g. "gzip CSV, GB18030, delimiter ';'"
	Bytes   int64             // raw file size
	SHA256  string            // of the raw file bytes
	Columns map[string]string // mapping key → source column
	Decimal byte
	Rows    int64 // data rows read, bad ones included
	Loaded  int64 // input rows loaded (a cancelled line also passes its negative counterpart to good)
	Bad     int64 // rows passed to bad

	Guests         int64            // rows without a customer id, set aside
	ZeroPrice      int64            // product lines with amount 0 (kept)
	CancelLines    int64            // lines of cancellation invoices (CancelPrefix)
	CancelledLines int64            // lines of cancelled orders, given a negative counterpart
	RefundLines    int64            // refund lines made from an order-level refunded amount
	NonProduct     map[string]int64 // non-product lines by kind (kept, not purchases)
}

// errStop ends a read early without error (previews).
var errStop = errors.New("stop")

// ReadTransactionFile streams one transactions file — CSV in any dialect and
// encoding, gzip or zstd compressed, Parquet, or the CDNOW layout — mapping
// its columns to the canonical fields and validating every row. Good rows go
// to good in file order; bad rows (unparsable values, an empty customer id, a
// future timestamp, an absurd amount, a wrong field count) go to bad. With a
// nil bad, the first bad row ends the read as a *DataError naming the file,
// line and column. Problems with the file as a whole (unreadable, no header,
// columns that cannot be mapped) are a *DataError either way.
func ReadTransactionFile(ctx context.Context, path string, opt ReadOptions, good func(Transaction) error, bad func(BadRow) error) (FileStats, error) {
	return readInputFile(ctx, path, opt, func(src rowSource) (FileStats, error) {
		return readTransactions(ctx, path, src, opt, good, bad)
	})
}

// readInputFile opens path as a row source, runs read on it, and fills in
// the file's size and SHA-256 of its raw bytes.
func readInputFile(ctx context.Context, path string, opt ReadOptions, read func(rowSource) (FileStats, error)) (FileStats, error) {
	if opt.SHA256 != "" { // hashed before: only the size is needed
		fi, err := os.Stat(path)
		if err != nil {
			return FileStats{File: path}, fmt.Errorf("datasets: %w", err)
		}
		src, err := openSource(ctx, path, opt.SourceOptions, nil)
		if err != nil {
			return FileStats{File: path}, err
		}
		defer src.close()
		st, err := read(src)
		st.Bytes, st.SHA256 = fi.Size(), opt.SHA256
		return st, err
	}
	sum := newFileSum()
	src, err := openSource(ctx, path, opt.SourceOptions, sum)
	if err != nil {
		return FileStats{File: path}, err
	}
	defer src.close()
	st, err := read(src)
	if err != nil {
		return st, err
	}
	st.Bytes, st.SHA256 = sum.n, sum.hex()
	return st, nil
}

// ReadTransactions is ReadTransactionFile on an open text stream (CSV or
// CDNOW; gzip and zstd are detected); name is used in errors.
func ReadTransactions(ctx context.Context, name string, r io.Reader, opt ReadOptions, good func(Transaction) error, bad func(BadRow) error) (FileStats, error) {
	src, err := openTextSource(name, r, opt.Format, opt.SourceOptions, func() error { return nil })
	if err != nil {
		return FileStats{File: name}, err
	}
	defer src.close()
	return readTransactions(ctx, name, src, opt, good, bad)
}

// rowParser maps and validates one record (with the header's field count):
// for a bad row it returns the mapping key of the offending column ("" for
// the whole row) and the reason; a non-nil error stops the read.
type rowParser func(rec []string, get func(key string) string) (col, reason string, err error)

// rowReader turns the records of one file into parser calls: it checks
// the field count, hands each record to parse, counts rows and routes bad
// ones to bad (or, with a nil bad, ends with a *DataError).
type rowReader struct {
	name   string
	header []string
	idx    map[string]int
	// slots finds a mapping key's column, which parsers look up a dozen
	// times a row.
	slots  *keySlots
	delim  rune
	parse  rowParser
	bad    func(BadRow) error
	st     *FileStats
	rec    []string
	getter func(string) string
}

type keyCol struct {
	key string
	i   int
}

// keySlots holds every key of a table with its column (i −1 when not
// mapped) in a slot placed by the key's length and end bytes, which tell
// apart the keys of each table: a key is found with one string compare
// instead of a hash. A key whose slot is taken goes to the next free one.
type keySlots [128]keyCol

func keySlot(k string) int {
	if k == "" {
		return 0
	}
	return (len(k)<<4 ^ int(k[0]) ^ int(k[len(k)-1])<<2) % len(keySlots{})
}

// newKeySlots places keys (a table's: far fewer than the slots, so some
// stay free and every search ends) with their columns in idx.
func newKeySlots(keys []string, idx map[string]int) *keySlots {
	var t keySlots
	for _, k := range keys {
		i, ok := idx[k]
		if !ok {
			i = -1
		}
		s := keySlot(k)
		for t[s].key != "" {
			s = (s + 1) % len(t)
		}
		t[s] = keyCol{k, i}
	}
	return &t
}

// column returns k's column, −1 when k is not mapped or not a key.
func (t *keySlots) column(k string) int {
	for s := keySlot(k); t[s].key != ""; s = (s + 1) % len(t) {
		if t[s].key == k {
			return t[s].i
		}
	}
	return -1
}

// newRowReader resolves the columns of table in src's header and the value
// options (the decimal separator follows the delimiter when unset).
func newRowReader(name string, src rowSource, table Table, opt ReadOptions) (*rowReader, ValueOptions, error) {
	st := &FileStats{File: name, Format: src.describe(), Columns: map[string]string{}}
	r := &rowReader{name: name, header: src.header(), st: st, delim: ','}
	if table.Name == Transactions.Name {
		table = table.withAliases(opt.Aliases)
	}
	idx, err := table.ResolveColumns(name, r.header, opt.Map)
	if err != nil {
		return r, ValueOptions{}, err
	}
	r.idx = idx
	for k, i := range idx {
		if i >= 0 {
			st.Columns[k] = r.header[i]
		}
	}
	r.slots = newKeySlots(table.Keys, idx)
	vals := opt.Values
	if cs, ok := src.(*csvSource); ok {
		r.delim = cs.delim
	}
	if vals.Decimal == 0 {
		vals.Decimal = '.'
		if r.delim == ';' {
			vals.Decimal = ','
		}
	}
	st.Decimal = vals.Decimal
	r.getter = r.get
	return r, vals, nil
}

// fork returns a reader of the same file with its own stats, parser and
// bad-row sink, for one chunk of records.
func (r *rowReader) fork(st *FileStats, parse rowParser, bad func(BadRow) error) *rowReader {
	f := &rowReader{name: r.name, header: r.header, idx: r.idx, slots: r.slots, delim: r.delim, parse: parse, bad: bad, st: st}
	f.getter = f.get
	return f
}

// get returns the trimmed field of the current record under a mapping key.
func (r *rowReader) get(k string) string {
	if i := r.slots.column(k); i >= 0 && i < len(r.rec) {
		return trimSpace(r.rec[i])
	}
	return ""
}

// trimSpace is strings.TrimSpace, returning at once when both ends are
// printable ASCII (no Unicode space starts or ends with such a byte).
func trimSpace(s string) string {
	if n := len(s); n > 0 && s[0] > ' ' && s[0] < 0x7f && s[n-1] > ' ' && s[n-1] < 0x7f {
		return s
	}
	return strings.TrimSpace(s)
}

func (r *rowReader) reject(br BadRow, rec []string) error {
	if r.bad == nil {
		return &DataError{File: br.File, Line: br.Line, Column: br.Column, Field: br.Field, Msg: br.Reason}
	}
	if rec != nil {
		br.Raw = joinRecord(rec, r.delim)
	}
	return r.bad(br)
}

// lost accounts for the n lines, from de.Line on, of a record that could
// not be read (a CSV syntax error, such as a quote left open over the rest
// of the file): each counts as a bad row and is quarantined as one, so the
// bad-row bound sees every line lost and the quarantine names each.
func (r *rowReader) lost(de *DataError, n int) error {
	r.st.Rows += int64(n)
	r.st.Bad += int64(n)
	last := de.Line + n - 1 // the line the error is on, at de.Column
	reason := de.Msg
	if n > 1 {
		reason = fmt.Sprintf("%s at line %d, column %d (a record over lines %d-%d)", de.Msg, last, de.Column, de.Line, last)
	}
	for k := range n {
		br := BadRow{File: r.name, Line: de.Line + k, Reason: reason}
		if de.Line+k == last {
			br.Column = de.Column
		}
		if err := r.reject(br, nil); err != nil {
			return err
		}
	}
	return nil
}

// record handles one record read at line; errStop ends the read early.
func (r *rowReader) record(rec []string, line int) error {
	if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
		return nil // blank line
	}
	r.st.Rows++
	col, reason := "", ""
	if len(rec) != len(r.header) {
		reason = fmt.Sprintf("%d fields, header has %d", len(rec), len(r.header))
	} else {
		var err error
		r.rec = rec
		col, reason, err = r.parse(rec, r.getter)
		r.rec = nil
		if err == errSkip {
			return nil
		}
		if err != nil {
			return err
		}
	}
	if reason != "" {
		r.st.Bad++
		br := BadRow{File: r.name, Line: line, Reason: reason}
		if i, ok := r.idx[col]; ok && i >= 0 { // a value the row lacks has no column: e.g. a csat row of a file without scores
			br.Column, br.Field = i+1, r.header[i]
		}
		return r.reject(br, rec)
	}
	r.st.Loaded++
	return nil
}

// readRows is the loop shared by every input table: it resolves the
// columns of table, then hands each record to the parser newParser builds,
// routing bad rows to bad (or, with a nil bad, ending with a *DataError).
func readRows(ctx context.Context, name string, src rowSource, table Table, opt ReadOptions,
	newParser func(vals ValueOptions, st *FileStats) (rowParser, error), bad func(BadRow) error) (FileStats, error) {
	r, vals, err := newRowReader(name, src, table, opt)
	if err != nil {
		return *r.st, err
	}
	if r.parse, err = newParser(vals, r.st); err != nil {
		return *r.st, err
	}
	r.bad = bad
	st := r.st
	for {
		rec, line, lost, err := src.next()
		if err == io.EOF {
			return *st, nil
		}
		if st.Rows%65536 == 0 {
			if cerr := ctx.Err(); cerr != nil {
				return *st, cerr
			}
		}
		var de *DataError
		if errors.As(err, &de) && lost > 0 {
			if err := r.lost(de, lost); err != nil {
				return *st, err
			}
			continue
		}
		if err != nil {
			return *st, err
		}
		if err := r.record(rec, line); err != nil {
			if err == errStop {
				return *st, nil
			}
			return *st, err
		}
	}
}

func readTransactions(ctx context.Context, name string, src rowSource, opt ReadOptions, good func(Transaction) error, bad func(BadRow) error) (FileStats, error) {
	return readTransactionsTo(ctx, name, src, opt, good, nil, bad)
}

// readTransactionsTo reads a transactions file in parallel when it can (see
// parallelCSV) — into w, or else to good — and otherwise row by row into good.
func readTransactionsTo(ctx context.Context, name string, src rowSource, opt ReadOptions, good func(Transaction) error, w *WarehouseWriter, bad func(BadRow) error) (FileStats, error) {
	if cs, ok := parallelCSV(src, opt); ok {
		r, vals, err := newRowReader(name, src, Transactions, opt)
		if err != nil {
			return *r.st, err
		}
		if err := checkTransactionColumns(name, src.header(), r.st.Columns, opt.GuestKey); err != nil {
			return *r.st, err
		}
		r.bad = bad
		cr := txChunks(r, &opt, vals, good)
		if w != nil {
			cr = warehouseChunks(r, &opt, vals, w) // good is w.Add: the rows go to the spill directly
		}
		return readParallel(ctx, cs, r, &opt, cr)
	}
	return readRows(ctx, name, src, Transactions, opt, func(vals ValueOptions, st *FileStats) (rowParser, error) {
		if err := checkTransactionColumns(name, src.header(), st.Columns, opt.GuestKey); err != nil {
			return nil, err
		}
		p := newLineParser(&opt, vals, st, good, st.Columns)
		return func(rec []string, get func(string) string) (string, string, error) { return p.parse(get) }, nil
	}, bad)
}

// ReadFile reads one transactions file like ReadTransactionFile and queues
// its good rows; a CSV file is parsed on opt.Workers goroutines.
func (w *WarehouseWriter) ReadFile(ctx context.Context, path string, opt ReadOptions, bad func(BadRow) error) (FileStats, error) {
	return readInputFile(ctx, path, opt, func(src rowSource) (FileStats, error) {
		return readTransactionsTo(ctx, path, src, opt, w.Add, w, bad)
	})
}

// checkTransactionColumns checks the required alternatives of a
// transactions file: a customer id (or an email with --guest-key email),
// and an amount, line total or unit price.
func checkTransactionColumns(file string, header []string, cols map[string]string, guestKey string) error {
	has := func(k string) bool { _, ok := cols[k]; return ok }
	switch {
	case !has(KeyCustomerID) && !(has(KeyEmail) && guestKey == GuestKeyEmail):
		hint := "map one with --map customer_id=<column>"
		if has(KeyEmail) {
			hint += ", or identify customers by email with --guest-key email"
		}
		return &DataError{File: file, Line: 1, Msg: fmt.Sprintf("no column for customer_id in header %q; %s", header, hint)}
	case !has(KeyAmount) && !has(KeyLineTotal) && !has(KeyUnitPrice):
		return &DataError{File: file, Line: 1, Msg: fmt.Sprintf("no column for amount, line_total or unit_price in header %q; map one with --map amount=<column>", header)}
	}
	return nil
}

// parseTimeField parses the timestamp under key and rejects one after
// notAfter (µs; 0 disables).
func parseTimeField(get func(string) string, key string, vals ValueOptions, notAfter int64) (int64, string, string) {
	ts, err := ParseTime(get(key), vals)
	if err != nil {
		return 0, key, err.Error()
	}
	if notAfter != 0 && ts > notAfter {
		return 0, key, fmt.Sprintf("timestamp %s is in the future (after %s)",
			time.UnixMicro(ts).UTC().Format(time.RFC3339), time.UnixMicro(notAfter).UTC().Format(time.RFC3339))
	}
	return ts, "", ""
}

// FormatCents writes cents as a decimal amount, e.g. -1234 → "-12.34".
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// joinRecord writes a record back as one CSV line with its delimiter.
func joinRecord(rec []string, delim rune) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = delim
	w.Write(rec)
	w.Flush()
	return strings.TrimRight(b.String(), "\r\n")
}

// Preview reads the first n good rows of a file of table t (and every bad
// row met on the way, up to n) without writing anything, for `churn ingest
// --dry-run`: the file's stats (format, mapping) and the rows as text under
// the canonical column names.
func Preview(ctx context.Context, t Table, path string, opt ReadOptions, n int) (FileStats, [][]string, []BadRow, error) {
	var rows [][]string
	var bads []BadRow
	keep := func(row []string) error {
		rows = append(rows, row)
		if len(rows) >= n {
			return errStop
		}
		return nil
	}
	bad := func(b BadRow) error {
		if len(bads) < n {
			bads = append(bads, b)
		}
		return nil
	}
	ts := func(us int64) string { return time.UnixMicro(us).UTC().Format(time.RFC3339) }
	var st FileStats
	var err error
	switch t.Name {
	case Customers.Name:
		rows = append(rows, []string{"customer_id", "signup_ts (UTC)", "email", "phone", "country", "attributes"})
		st, err = ReadCustomerFile(ctx, path, opt, func(c Customer) error {
			signup := ""
			if c.SignupTS != 0 {
				signup = ts(c.SignupTS)
			}
			return keep([]string{c.CustomerID, signup, c.Email, c.Phone, c.Country, c.Attributes})
		}, bad)
	case FeedbackTable.Name:
		rows = append(rows, []string{"customer_id", "ts (UTC)", "kind", "score"})
		st, err = ReadFeedbackFile(ctx, path, opt, func(f Feedback) error {
			return keep([]string{f.CustomerID, ts(f.TS), f.Kind, strconv.FormatFloat(f.Score, 'g', -1, 64)})
		}, bad)
	default:
		rows = append(rows, []string{"customer_id", "order_id", "ts (UTC)", "amount", "quantity", "product_id", "category", "channel", "line_kind"})
		st, err = ReadTransactionFile(ctx, path, opt, func(t Transaction) error {
			kind := t.LineKind
			if kind == "" {
				kind = LineProduct
			}
			return keep([]string{t.CustomerID, t.OrderID, ts(t.TS), FormatCents(t.AmountCents), strconv.Itoa(int(t.Quantity)), t.ProductID, t.Category, t.Channel, kind})
		}, bad)
	}
	return st, rows, bads, err
}

// ReadTransactionsCSV streams a transactions file strictly: the first bad
// row stops the read with a *DataError (for `churn clv`, which reads one
// file and has no quarantine).
func ReadTransactionsCSV(ctx context.Context, path string, opt ReadOptions, fn func(Transaction) error) (int64, error) {
	st, err := ReadTransactionFile(ctx, path, opt, fn, nil)
	return st.Loaded, err
}
