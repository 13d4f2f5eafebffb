package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// IngestInput names the raw exports of one ingest.
type IngestInput struct {
	Transactions string             // CSV path; required
	Map          datasets.ColumnMap // header mapping; unmapped keys are recognised
	Now          time.Time          // rows after Now are rejected as future; zero: the wall clock
}

// IngestResult summarises an ingest.
type IngestResult struct {
	Rows      int64
	Customers int64
	FirstDay  string
	LastDay   string
}

// Ingest reads the transactions export, validates every row and replaces the
// warehouse atomically. A bad row stops it with a *datasets.DataError and
// leaves the previous warehouse untouched.
func Ingest(ctx context.Context, cfg Config, in IngestInput) (IngestResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return IngestResult{}, err
	}
	if in.Transactions == "" {
		return IngestResult{}, fmt.Errorf("pipeline: ingest: --transactions is required")
	}
	start := time.Now()
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	w := datasets.NewWarehouseWriter(cfg.Buckets)
	rows, err := datasets.ReadTransactionsCSV(ctx, in.Transactions, datasets.TransactionReadOptions{Map: in.Map, NotAfter: now}, func(t datasets.Transaction) error {
		w.Add(t)
		return nil
	})
	if err != nil {
		return IngestResult{}, err
	}
	if rows == 0 {
		return IngestResult{}, &datasets.DataError{File: in.Transactions, Line: 2, Msg: "no transaction rows after the header"}
	}
	size, sum, err := datasets.FileFingerprint(in.Transactions)
	if err != nil {
		return IngestResult{}, err
	}
	info, err := w.Commit(ctx, cfg.Workdir, map[string]string{
		"input_transactions_bytes":  fmt.Sprint(size),
		"input_transactions_sha256": sum,
	})
	if err != nil {
		return IngestResult{}, err
	}
	res := IngestResult{Rows: info.Rows, Customers: info.Customers, FirstDay: dateString(dayOf(info.MinTS)), LastDay: dateString(dayOf(info.MaxTS))}
	cfg.logStage("ingest", res.Rows, start, "customers", res.Customers, "first_day", res.FirstDay, "last_day", res.LastDay)
	return res, nil
}
