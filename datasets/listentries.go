package datasets

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ListEntry is what is read back of a customer's row of an earlier list:
// for the movers (a later list compares with it) and the uplift (who was
// contacted or held out). Seven of the list's columns: a whole ScoreRow
// with its reasons and dates takes several times the memory, at ten
// million customers gigabytes.
type ListEntry struct {
	CustomerID       string
	Rank             int64
	ChurnProbability float64
	RiskTier         string
	LastOrderDate    string
	Contact, Control bool
}

// ReadListEntries reads the entries of a scores.parquet file, in its order
// (rank), reading only their seven columns. The risk tiers and dates are
// shared strings (a few distinct ones), the customer ids sit in one block
// of bytes a record batch.
func ReadListEntries(path string) ([]ListEntry, error) {
	var out []ListEntry
	err := EachListEntries(path, func(batch []ListEntry) error {
		out = append(out, batch...)
		return nil
	})
	return out, err
}

// EachListEntries calls fn with the entries of a scores.parquet file, in
// order, a record batch at a time (each call's slice and id block are its
// own), and stops at fn's first error: a list read without holding it.
func EachListEntries(path string, fn func([]ListEntry) error) error {
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		s = strings.Clone(s)
		interned[s] = s
		return s
	}
	return eachScoresBatch(path, []string{"customer_id", "rank", "churn_probability", "risk_tier", "last_order_date", "contact", "control"}, func(rec arrow.RecordBatch) error {
		ids, ok1 := AsText(Column(rec, "customer_id"))
		rank, ok2 := Column(rec, "rank").(*array.Int64)
		prob, ok3 := Column(rec, "churn_probability").(*array.Float64)
		tiers, ok4 := AsText(Column(rec, "risk_tier"))
		last, ok5 := AsText(Column(rec, "last_order_date"))
		contact, ok6 := Column(rec, "contact").(*array.Boolean)
		control, ok7 := Column(rec, "control").(*array.Boolean)
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 {
			return &DataError{File: path, Msg: "not a scores file: " + rec.Schema().String()}
		}
		n := int(rec.NumRows())
		size := 0
		for i := range n {
			size += len(ids.Value(i))
		}
		block := make([]byte, 0, size)
		out := make([]ListEntry, 0, n)
		for i := range n {
			id := ids.Value(i)
			at := len(block)
			block = append(block, id...)
			if id != "" {
				id = unsafe.String(&block[at], len(id)) // block is never written there again
			}
			out = append(out, ListEntry{CustomerID: id, Rank: rank.Value(i), ChurnProbability: prob.Value(i),
				RiskTier: intern(tiers.Value(i)), LastOrderDate: intern(last.Value(i)), Contact: contact.Value(i), Control: control.Value(i)})
		}
		return fn(out)
	})
}

// ReadScoreProbabilities reads the churn probabilities of a scores.parquet
// file, in its order, and nothing else.
func ReadScoreProbabilities(path string) ([]float64, error) {
	var out []float64
	err := eachScoresBatch(path, []string{"churn_probability"}, func(rec arrow.RecordBatch) error {
		prob, ok := Column(rec, "churn_probability").(*array.Float64)
		if !ok {
			return &DataError{File: path, Msg: "not a scores file: " + rec.Schema().String()}
		}
		out = append(out, prob.Float64Values()...)
		return nil
	})
	return out, err
}

// eachScoresBatch calls fn with every record batch of the named columns of
// a scores.parquet file, in order.
func eachScoresBatch(path string, columns []string, fn func(arrow.RecordBatch) error) error {
	rr, closeFile, err := openParquetRecords(context.Background(), path, memory.DefaultAllocator, columns...)
	if err != nil {
		return err
	}
	defer closeFile()
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("datasets: read %s: %w", path, err)
	}
	return nil
}
