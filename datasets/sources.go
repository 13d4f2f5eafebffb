package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// Input formats of ingest.
const (
	FormatAuto    = ""        // Parquet by its magic bytes, otherwise CSV
	FormatCSV     = "csv"     // delimited text, any of , ; tab |
	FormatParquet = "parquet" // any Parquet file; columns mapped like CSV headers
	FormatCDNOW   = "cdnow"   // Fader & Hardie's CDNOW text layout
)

// Text encodings of CSV input (SourceOptions.Encoding).
var Encodings = []string{"auto", "utf-8", "gb18030", "gbk", "utf-16", "windows-1252"}

// SourceOptions says how to open an input file. Zero values detect.
type SourceOptions struct {
	Format    string // FormatAuto, FormatCSV, FormatParquet or FormatCDNOW
	Encoding  string // one of Encodings; "" or "auto" detects (BOM, UTF-8, GB18030, Windows-1252)
	Delimiter rune   // 0 sniffs the header line for , ; tab or |
}

// ExpandInputs turns an input argument into files, in order: a
// comma-separated list whose items are files, folders (their regular files
// sorted by name) or glob patterns (matches sorted); names that start with
// . or _ (hidden files, _SUCCESS markers) are skipped in both. Every item must yield at least one file.
func ExpandInputs(spec string) ([]string, error) {
	var files []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.ContainsAny(item, "*?[") {
			m, err := filepath.Glob(item)
			if err != nil {
				return nil, fmt.Errorf("datasets: input pattern %q: %w", item, err)
			}
			var regular []string
			for _, p := range m {
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && !skippedName(filepath.Base(p)) {
					regular = append(regular, p)
				}
			}
			if len(regular) == 0 {
				return nil, fmt.Errorf("datasets: input pattern %q matches no files", item)
			}
			slices.Sort(regular)
			files = append(files, regular...)
			continue
		}
		st, err := os.Stat(item)
		if err != nil {
			return nil, fmt.Errorf("datasets: input %w", err)
		}
		if !st.IsDir() {
			files = append(files, item)
			continue
		}
		entries, err := os.ReadDir(item)
		if err != nil {
			return nil, fmt.Errorf("datasets: input %w", err)
		}
		n := len(files)
		for _, e := range entries {
			if name := e.Name(); e.Type().IsRegular() && !skippedName(name) {
				files = append(files, filepath.Join(item, name))
			}
		}
		if len(files) == n {
			return nil, fmt.Errorf("datasets: input folder %s has no files", item)
		}
	}
	if len(files) == 0 {
		return nil, errors.New("datasets: no input files given")
	}
	return files, nil
}

// skippedName reports whether a file in a folder or glob is skipped: hidden
// files and markers like _SUCCESS.
func skippedName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// rowSource yields the records of one input file as text fields.
type rowSource interface {
	// header returns the column names.
	header() []string
	// next returns the next record and its line (CSV, CDNOW) or row number
	// (Parquet, 1-based), io.EOF at the end, or a *DataError for a record
	// that cannot be read; lost is then how many records it spans.
	next() (rec []string, line int, lost int, err error)
	// describe names what was detected, for summaries and --dry-run.
	describe() string
	close() error
}

// openSource opens path as a row source. sum, when not nil, receives every
// raw byte of the file (for its content hash; Parquet files are read once
// more for it).
func openSource(ctx context.Context, path string, opt SourceOptions, sum io.Writer) (rowSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	var in io.Reader = f
	if sum != nil {
		in = io.TeeReader(f, sum)
	}
	raw := bufio.NewReaderSize(in, 1<<20)
	magic, _ := raw.Peek(4)
	format := opt.Format
	if format == FormatAuto {
		format = FormatCSV
		if string(magic) == "PAR1" {
			format = FormatParquet
		}
	}
	if format == FormatParquet {
		if string(magic) != "PAR1" {
			f.Close()
			return nil, &DataError{File: path, Msg: "not a Parquet file (no PAR1 magic bytes)"}
		}
		if sum != nil {
			if _, err := io.Copy(sum, f); err != nil { // hash the whole file
				f.Close()
				return nil, fmt.Errorf("datasets: %w", err)
			}
		}
		f.Close()
		return openParquetSource(ctx, path)
	}
	return openTextSource(path, raw, format, opt, f.Close)
}

// openTextSource opens a CSV or CDNOW stream (gzip and zstd detected by
// their magic bytes); closer is called by the source's close.
func openTextSource(path string, r io.Reader, format string, opt SourceOptions, closer func() error) (rowSource, error) {
	raw := bufio.NewReaderSize(r, 64*1024)
	magic, _ := raw.Peek(4)
	r = raw
	compression := ""
	closeAll := closer
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(raw)
		if err != nil {
			closer()
			return nil, &DataError{File: path, Msg: "bad gzip data: " + err.Error()}
		}
		r, compression = gz, "gzip "
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1))
		if err != nil {
			closer()
			return nil, &DataError{File: path, Msg: "bad zstd data: " + err.Error()}
		}
		r, compression = zr.IOReadCloser(), "zstd "
		closeAll = func() error { zr.Close(); return closer() }
	}
	text, enc, err := decodeText(path, r, opt.Encoding)
	if err != nil {
		closeAll()
		return nil, err
	}
	if format == FormatAuto {
		format = FormatCSV
	}
	if format == FormatCDNOW {
		return &cdnowSource{name: path, sc: bufio.NewScanner(text), closer: closeAll, desc: compression + "CDNOW text, " + enc}, nil
	}
	if format != FormatCSV {
		closeAll()
		return nil, fmt.Errorf("datasets: format %q: want csv, parquet or cdnow", format)
	}
	br := bufio.NewReaderSize(text, 1<<20)
	delim := opt.Delimiter
	if delim == 0 {
		sample, _ := br.Peek(64 * 1024)
		delim = sniffDelimiter(sample)
	}
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	s := &csvSource{name: path, cr: cr, closer: closeAll, delim: delim,
		desc: fmt.Sprintf("%sCSV, %s, delimiter %s", compression, enc, delimiterName(delim))}
	h, err := cr.Read()
	if err == io.EOF {
		closeAll()
		return nil, &DataError{File: path, Line: 1, Msg: "empty file: want a header row"}
	}
	if err != nil {
		closeAll()
		return nil, csvError(path, err)
	}
	s.head = slices.Clone(h)
	line, _ := cr.FieldPos(0)
	s.br, s.dataLine = br, line+1
	for _, f := range h {
		s.dataLine += strings.Count(f, "\n")
	}
	if len(s.head) > 0 {
		s.head[0] = strings.TrimPrefix(s.head[0], "\ufeff")
	}
	return s, nil
}

// decodeText wraps r so it yields UTF-8: a BOM decides (UTF-8, UTF-16 LE or
// BE); otherwise name does, and "auto" takes UTF-8 when the first 64 KiB are
// valid UTF-8, else GB18030 (a superset of GBK, what Chinese Excel writes)
// when that decodes them cleanly, else Windows-1252.
func decodeText(path string, r io.Reader, name string) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	sample, _ := br.Peek(64 * 1024)
	switch {
	case bytes.HasPrefix(sample, []byte{0xef, 0xbb, 0xbf}):
		br.Discard(3)
		return br, "UTF-8 with BOM", nil
	case bytes.HasPrefix(sample, []byte{0xff, 0xfe}), bytes.HasPrefix(sample, []byte{0xfe, 0xff}):
		return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Reader(br), "UTF-16", nil
	}
	var enc encoding.Encoding
	switch strings.ToLower(name) {
	case "", "auto":
		switch {
		case validUTF8Prefix(sample):
			return br, "UTF-8", nil
		case cleanDecode(simplifiedchinese.GB18030, sample):
			return simplifiedchinese.GB18030.NewDecoder().Reader(br), "GB18030", nil
		}
		return charmap.Windows1252.NewDecoder().Reader(br), "Windows-1252", nil
	case "utf-8", "utf8":
		return br, "UTF-8", nil
	case "gb18030", "gbk", "gb2312":
		enc, name = simplifiedchinese.GB18030, "GB18030"
	case "utf-16", "utf16":
		enc, name = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), "UTF-16"
	case "windows-1252", "cp1252", "latin1", "iso-8859-1":
		enc, name = charmap.Windows1252, "Windows-1252"
	default:
		return nil, "", fmt.Errorf("datasets: encoding %q: want one of %s", name, strings.Join(Encodings, ", "))
	}
	return enc.NewDecoder().Reader(br), name, nil
}

// validUTF8Prefix reports whether b is valid UTF-8, ignoring a rune cut off
// at the end of the sample.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < 3 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// cleanDecode reports whether enc decodes the sample (but for its last few
// bytes, which may be cut) without replacement characters.
func cleanDecode(enc encoding.Encoding, sample []byte) bool {
	if len(sample) > 4 {
		sample = sample[:len(sample)-4]
	}
	out, err := enc.NewDecoder().Bytes(sample)
	return err == nil && !bytes.ContainsRune(out, utf8.RuneError)
}

// sniffDelimiter picks , ; tab or | by which occurs most often outside
// quotes on the first line; comma when none does.
func sniffDelimiter(sample []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range sample {
		if c == '"' {
			quoted = !quoted
		}
		if !quoted && (c == '\n' || c == '\r') {
			break
		}
		if !quoted {
			counts[c]++
		}
	}
	best, bestN := byte(','), 0
	for _, c := range []byte{',', ';', '\t', '|'} {
		if counts[c] > bestN {
			best, bestN = c, counts[c]
		}
	}
	return rune(best)
}

func delimiterName(r rune) string {
	if r == '\t' {
		return "tab"
	}
	return fmt.Sprintf("%q", r)
}

type csvSource struct {
	name string
	cr   *csv.Reader
	br   *bufio.Reader // what cr reads, just after the header
	// dataLine is the line number of the first line after the header.
	dataLine int
	head     []string
	delim    rune
	desc     string
	closer   func() error
}

func (s *csvSource) header() []string { return s.head }
func (s *csvSource) describe() string { return s.desc }
func (s *csvSource) close() error     { return s.closer() }

func (s *csvSource) next() ([]string, int, int, error) {
	rec, err := s.cr.Read()
	if err == io.EOF {
		return nil, 0, 0, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.StartLine, max(1, pe.Line-pe.StartLine+1), &DataError{File: s.name, Line: pe.StartLine, Column: pe.Column, Msg: pe.Err.Error()}
		}
		return nil, 0, 0, fmt.Errorf("datasets: read %s: %w", s.name, err)
	}
	line, _ := s.cr.FieldPos(0)
	return rec, line, 0, nil
}

// cdnowSource reads the CDNOW layout: whitespace-separated
// "customer_id date cds dollar_value" (CDNOW_master.txt) or with a sample id
// after the customer id (CDNOW_sample.txt), optional header line.
type cdnowSource struct {
	name   string
	sc     *bufio.Scanner
	line   int
	head   []string
	peeked []string
	desc   string
	closer func() error
}

func (s *cdnowSource) describe() string { return s.desc }
func (s *cdnowSource) close() error     { return s.closer() }

func (s *cdnowSource) header() []string {
	if s.head == nil {
		s.head = []string{"customer_id", "ts", "quantity", "amount"}
		for s.sc.Scan() {
			s.line++
			fields := strings.Fields(s.sc.Text())
			if len(fields) == 0 {
				continue
			}
			if len(fields) == 5 {
				s.head = []string{"customer_id", "sample_id", "ts", "quantity", "amount"}
			}
			if isDigits(fields[0]) {
				s.peeked = fields
			}
			break
		}
	}
	return s.head
}

func (s *cdnowSource) next() ([]string, int, int, error) {
	if s.peeked != nil {
		rec := s.peeked
		s.peeked = nil
		return s.check(rec)
	}
	for s.sc.Scan() {
		s.line++
		if fields := strings.Fields(s.sc.Text()); len(fields) > 0 {
			return s.check(fields)
		}
	}
	if err := s.sc.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("datasets: read %s: %w", s.name, err)
	}
	return nil, 0, 0, io.EOF
}

func (s *cdnowSource) check(rec []string) ([]string, int, int, error) {
	if len(rec) != len(s.head) {
		return nil, s.line, 1, &DataError{File: s.name, Line: s.line,
			Msg: fmt.Sprintf("%d fields; the CDNOW layout has 4 (id date cds value) or 5 (id sample_id date cds value)", len(rec))}
	}
	return rec, s.line, 0, nil
}

// parquetSource reads any Parquet file through Arrow, one record batch at a
// time, turning every value into text for the shared mapping and parsing.
type parquetSource struct {
	name   string
	rr     array.RecordReader
	closer func() error
	head   []string
	rec    arrow.RecordBatch
	i, row int
	out    []string
}

func openParquetSource(ctx context.Context, path string) (rowSource, error) {
	rr, closer, err := openParquetRecords(ctx, path, memory.DefaultAllocator)
	if err != nil {
		return nil, &DataError{File: path, Msg: err.Error()}
	}
	s := &parquetSource{name: path, rr: rr, closer: closer}
	for _, f := range rr.Schema().Fields() {
		s.head = append(s.head, f.Name)
	}
	s.out = make([]string, len(s.head))
	return s, nil
}

func (s *parquetSource) header() []string { return s.head }
func (s *parquetSource) describe() string { return "Parquet" }
func (s *parquetSource) close() error {
	s.rr.Release()
	return s.closer()
}

func (s *parquetSource) next() ([]string, int, int, error) {
	for s.rec == nil || s.i >= int(s.rec.NumRows()) {
		if !s.rr.Next() {
			if err := s.rr.Err(); err != nil && err != io.EOF {
				return nil, 0, 0, &DataError{File: s.name, Line: s.row + 1, Msg: err.Error()}
			}
			return nil, 0, 0, io.EOF
		}
		s.rec, s.i = s.rr.RecordBatch(), 0
	}
	for c := range s.out {
		s.out[c] = arrowText(s.rec.Column(c), s.i)
	}
	s.i++
	s.row++
	return s.out, s.row, 0, nil
}

// arrowText formats one Arrow value as ingest's text: timestamps with a time
// zone as RFC 3339 UTC, zone-less ones as local wall-clock time (so
// --timezone applies), nulls as "".
func arrowText(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	if ts, ok := col.(*array.Timestamp); ok {
		typ := ts.DataType().(*arrow.TimestampType)
		t := ts.Value(i).ToTime(typ.Unit)
		if typ.TimeZone == "" {
			return t.UTC().Format("2006-01-02 15:04:05.999999999")
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return col.ValueStr(i)
}
