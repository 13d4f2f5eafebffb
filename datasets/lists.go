package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// ScoreRow is one scored customer of a retention list (DESIGN.md, "Scores").
// Dates are YYYY-MM-DD (UTC); money is in currency units rounded to cents.
type ScoreRow struct {
	Rank             int64   `parquet:"rank"`
	CustomerID       string  `parquet:"customer_id"`
	ChurnProbability float64 `parquet:"churn_probability"`
	RiskTier         string  `parquet:"risk_tier,dict"`
	// RiskPermille and SegmentRiskPermille rank the churn probability among
	// all customers and within the RFM segment: the share (‰) with a
	// probability at or below this one (1000 = the riskiest).
	RiskPermille          int64   `parquet:"risk_permille"`
	SegmentRiskPermille   int64   `parquet:"segment_risk_permille"`
	PAlive                float64 `parquet:"p_alive"`
	ExpectedOrders        float64 `parquet:"expected_orders"`
	PredictedCLV          float64 `parquet:"predicted_clv"`
	ValueAtRisk           float64 `parquet:"value_at_risk"`
	Segment               string  `parquet:"segment,dict"`
	RFM                   string  `parquet:"rfm,dict"` // r, f and m scores, e.g. "545"
	LoyaltyTier           string  `parquet:"loyalty_tier,dict"`
	SatisfactionClass     string  `parquet:"satisfaction_class,dict"` // promoter, passive, detractor; empty without an NPS answer
	Reasons               string  `parquet:"reasons"`
	SuggestedAction       string  `parquet:"suggested_action,dict"`
	Contact               bool    `parquet:"contact"` // in the campaign the sizing recommends
	Control               bool    `parquet:"control"` // held out: campaigns must not contact
	LastOrderDate         string  `parquet:"last_order_date"`
	ExpectedNextOrderDate string  `parquet:"expected_next_order_date"`
	ModelVersion          string  `parquet:"model_version,dict"`
	ScoredAt              string  `parquet:"scored_at,dict"`
}

// ScoreColumns is the header of retention_list.csv, in order.
var ScoreColumns = []string{"rank", "customer_id", "churn_probability", "risk_tier", "risk_permille", "segment_risk_permille", "p_alive", "expected_orders",
	"predicted_clv", "value_at_risk", "segment", "rfm", "loyalty_tier", "satisfaction_class", "reasons", "suggested_action", "contact", "control", "last_order_date",
	"expected_next_order_date", "model_version", "scored_at"}

// ListDir returns <workdir>/lists/as-of=YYYY-MM-DD.
func ListDir(workdir, asOf string) string {
	return filepath.Join(workdir, ListsDir, "as-of="+asOf)
}

// NeutraliseCell defuses a CSV cell a spreadsheet would run as a formula
// (it starts with = + - @, a tab or a carriage return) by prefixing a
// single quote, as OWASP advises against CSV injection. Plain numbers and
// phone numbers (-5.00, +86 138 0013 8000) are left alone: they call no
// function.
func NeutraliseCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '+', '-':
		plain := len(s) > 1
		for i := 1; i < len(s) && plain; i++ {
			c := s[i]
			plain = c >= '0' && c <= '9' || c == ' ' || c == '.' || c == '(' || c == ')' || c == '-'
		}
		if plain {
			return s
		}
	case '=', '@', '\t', '\r':
	default:
		return s
	}
	return "'" + s
}

// unneutralise reverses NeutraliseCell.
func unneutralise(s string) string {
	if len(s) > 1 && s[0] == '\'' && NeutraliseCell(s[1:]) == s {
		return s[1:]
	}
	return s
}

// WriteScoresCSV writes rows as UTF-8 CSV (RFC 4180, LF) with ScoreColumns as
// header. Probabilities have 4 decimals, counts 3, money 2. Text cells are
// neutralised against formula injection (NeutraliseCell).
func WriteScoresCSV(w io.Writer, rows []ScoreRow) error {
	return WriteScoresCSVFunc(w, len(rows), func(dst []ScoreRow, lo int) { copy(dst, rows[lo:]) })
}

// WriteScoresCSVFunc is WriteScoresCSV of n rows that fill makes a chunk
// at a time: fill(dst, lo) fills dst with the rows from lo on. It is
// called from several goroutines at once, for chunks that do not overlap.
// The rows need not all be in memory as ScoreRows.
func WriteScoresCSVFunc(w io.Writer, n int, fill func(dst []ScoreRow, lo int)) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := csv.NewWriter(bw)
	if err := cw.Write(ScoreColumns); err != nil {
		return fmt.Errorf("datasets: write csv: %w", err)
	}
	cw.Flush()
	// Chunks of rows are formatted on every core and written in order: a
	// CSV record does not depend on the ones before, so the bytes are one
	// writer's.
	const chunk = 8192
	workers := runtime.GOMAXPROCS(0)
	bufs := make([]bytes.Buffer, workers)
	rows := make([][]ScoreRow, workers)
	for lo := 0; lo < n; lo += chunk * workers {
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for k := range workers {
			a, b := min(lo+k*chunk, n), min(lo+(k+1)*chunk, n)
			bufs[k].Reset()
			if rows[k] == nil {
				rows[k] = make([]ScoreRow, min(chunk, n))
			}
			wg.Go(func() {
				fill(rows[k][:b-a], a)
				errs[k] = writeScoreRecords(&bufs[k], rows[k][:b-a])
			})
		}
		wg.Wait()
		for k := range workers {
			if errs[k] != nil {
				return errs[k]
			}
			if _, err := bw.Write(bufs[k].Bytes()); err != nil {
				return fmt.Errorf("datasets: write csv: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("datasets: write csv: %w", err)
	}
	return nil
}

// WriteScoresCSVRecords writes rows as retention_list.csv's records, without
// its header: WriteScoresCSV's lines after the first.
func WriteScoresCSVRecords(w io.Writer, rows []ScoreRow) error { return writeScoreRecords(w, rows) }

// writeScoreRecords writes rows as CSV records (no header) to w.
func writeScoreRecords(w io.Writer, rows []ScoreRow) error {
	cw := csv.NewWriter(w)
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	rec := make([]string, len(ScoreColumns))
	for _, r := range rows {
		n := NeutraliseCell
		rec = append(rec[:0], strconv.FormatInt(r.Rank, 10), n(r.CustomerID), f(r.ChurnProbability, 4), r.RiskTier,
			strconv.FormatInt(r.RiskPermille, 10), strconv.FormatInt(r.SegmentRiskPermille, 10), f(r.PAlive, 4), f(r.ExpectedOrders, 3), f(r.PredictedCLV, 2), f(r.ValueAtRisk, 2), r.Segment, r.RFM, r.LoyaltyTier, r.SatisfactionClass, n(r.Reasons),
			n(r.SuggestedAction), strconv.FormatBool(r.Contact), strconv.FormatBool(r.Control), r.LastOrderDate, r.ExpectedNextOrderDate, r.ModelVersion, r.ScoredAt)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("datasets: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("datasets: write csv: %w", err)
	}
	return nil
}

// WriteScoresParquet writes rows to a Parquet file at path.
func WriteScoresParquet(path string, rows []ScoreRow) error {
	return writeParquetRows(path, rows)
}

// WriteScoresParquetFunc is WriteScoresParquet of n rows that fill makes a
// chunk at a time (fill(dst, lo) fills dst with the rows from lo on): the
// same bytes, without every row in memory as a ScoreRow.
func WriteScoresParquetFunc(path string, n int, fill func(dst []ScoreRow, lo int)) error {
	return writeParquetFunc(path, n, fill)
}

// ReadScoresParquet reads a scores.parquet file written by WriteScoresParquet.
func ReadScoresParquet(path string) ([]ScoreRow, error) {
	return readParquetRows[ScoreRow](path)
}

// EachScores calls fn with the rows of a scores.parquet file, in order, a
// few thousand at a time (the slice is reused; the rows' strings are their
// own), and stops at fn's first error.
func EachScores(path string, fn func(rows []ScoreRow) error) error {
	return eachParquetRows(path, fn)
}

// eachParquetRows calls fn with the rows of a Parquet file of T, in order,
// a few thousand at a time (the slice is reused; the rows' strings are
// their own), and stops at fn's first error.
func eachParquetRows[T any](path string, fn func(rows []T) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	buf := make([]T, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if ferr := fn(buf[:n]); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("datasets: read %s: %w", path, err)
		}
	}
}

// ReadScoresHead reads the first n rows of a scores.parquet (fewer when it
// has fewer) and its row count, from the footer.
func ReadScoresHead(path string, n int) ([]ScoreRow, int64, error) {
	return readParquetHead[ScoreRow](path, int64(n))
}

// ReadScoresCSV reads a retention_list.csv written by WriteScoresCSV
// (reversing the formula neutralisation).
func ReadScoresCSV(name string, r io.Reader) ([]ScoreRow, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, csvError(name, err)
	}
	if len(recs) == 0 || len(recs[0]) != len(ScoreColumns) {
		return nil, &DataError{File: name, Line: 1, Msg: "not a retention list: header mismatch"}
	}
	out := make([]ScoreRow, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		var r ScoreRow
		c := &cells{file: name, line: i + 2, header: ScoreColumns, rec: rec}
		str, num, integer, boolean := c.str, c.num, c.int, c.bool
		r.Rank, r.CustomerID, r.ChurnProbability, r.RiskTier = integer(), unneutralise(str()), num(), str()
		r.RiskPermille, r.SegmentRiskPermille = integer(), integer()
		r.PAlive, r.ExpectedOrders, r.PredictedCLV, r.ValueAtRisk = num(), num(), num(), num()
		r.Segment, r.RFM, r.LoyaltyTier, r.SatisfactionClass = str(), str(), str(), str()
		r.Reasons, r.SuggestedAction = unneutralise(str()), unneutralise(str())
		r.Contact, r.Control = boolean(), boolean()
		r.LastOrderDate, r.ExpectedNextOrderDate, r.ModelVersion, r.ScoredAt = str(), str(), str(), str()
		if c.err != nil {
			return nil, c.err
		}
		out = append(out, r)
	}
	return out, nil
}
