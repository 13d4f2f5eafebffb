package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// KPIResult is the loyalty KPI book at an as-of day.
type KPIResult struct {
	Dir     string // where the files were written
	AsOf    string
	Rows    []datasets.KPIRow
	Cohorts []datasets.CohortRow
}

// KPIsDir returns <workdir>/kpis/as-of=YYYY-MM-DD.
func KPIsDir(workdir, asOf string) string {
	return filepath.Join(workdir, datasets.KPIsDir, "as-of="+asOf)
}

// KPIs computes the monthly loyalty KPIs per segment and the cohort
// retention matrix from the warehouse as known at the end of asOf, and
// writes kpis.csv, kpis.parquet and cohorts.csv to KPIsDir (atomically).
func KPIs(ctx context.Context, cfg Config, asOf time.Time) (KPIResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return KPIResult{}, err
	}
	start := time.Now()
	book, err := computeKPIs(ctx, cfg, asOf)
	if err != nil {
		return KPIResult{}, err
	}
	res := KPIResult{Dir: KPIsDir(cfg.Workdir, dateString(asOf)), AsOf: dateString(asOf), Rows: kpiRows(book, asOf), Cohorts: cohortRows(book, nil)}
	err = datasets.CommitFolder(res.Dir, func(tmp string) (datasets.Manifest, error) {
		return writeKPIFiles(tmp, res.Rows, res.Cohorts, asOf)
	})
	if err != nil {
		return res, err
	}
	cfg.logStage("kpis", int64(len(res.Rows)), start, "as_of", res.AsOf, "dir", res.Dir)
	return res, nil
}

// writeKPIFiles writes kpis.csv, kpis.parquet and cohorts.csv into dir.
func writeKPIFiles(dir string, rows []datasets.KPIRow, cohorts []datasets.CohortRow, asOf time.Time) (datasets.Manifest, error) {
	var kb, cb bytes.Buffer
	if err := datasets.WriteKPIsCSV(&kb, rows); err != nil {
		return datasets.Manifest{}, err
	}
	if err := datasets.WriteCohortsCSV(&cb, cohorts); err != nil {
		return datasets.Manifest{}, err
	}
	for name, b := range map[string][]byte{datasets.KPIsCSV: kb.Bytes(), datasets.CohortsCSV: cb.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, datasets.FileMode); err != nil {
			return datasets.Manifest{}, fmt.Errorf("pipeline: %w", err)
		}
	}
	if err := datasets.WriteKPIsParquet(filepath.Join(dir, datasets.KPIsParquet), rows); err != nil {
		return datasets.Manifest{}, err
	}
	return datasets.Manifest{Kind: "kpis", Rows: int64(len(rows)), Meta: map[string]string{"as_of": dateString(asOf)}}, nil
}

// computeKPIs streams the warehouse bucket by bucket (in parallel) into
// one KPI book per bucket and merges them in bucket order.
func computeKPIs(ctx context.Context, cfg Config, asOf time.Time) (*features.KPIBook, error) {
	if cfg.books != nil { // the snapshot at asOf was built in this process: its pass filled the book
		wv, _, err := warehouseVersion(cfg.Workdir)
		if err != nil {
			return nil, err
		}
		if book := cfg.books.take(kpiKey(cfg, wv, asOf)); book != nil {
			return book, nil
		}
	}
	books, err := kpiBooks(ctx, cfg, asOf, nil)
	if err != nil {
		return nil, err
	}
	return mergeBooks(books)
}

// kpiBooks returns the KPI book of every bucket keep accepts (nil: all;
// the others' are nil), by bucket.
func kpiBooks(ctx context.Context, cfg Config, asOf time.Time, keep func(int) bool) ([]*features.KPIBook, error) {
	_, info, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		return nil, err
	}
	if asOf.Before(dayOf(info.MinTS)) {
		return nil, fmt.Errorf("pipeline: as-of %s is before the first day of data %s", dateString(asOf), dateString(dayOf(info.MinTS)))
	}
	books := make([]*features.KPIBook, info.Buckets)
	fcfg := cfg.featureConfig(asOf, false)
	err = forEachBucket(ctx, cfg, "kpis", info.Buckets, func(b int) error {
		if keep != nil && !keep(b) {
			return nil
		}
		book, err := newKPIBook(cfg, info, asOf)
		if err != nil {
			return err
		}
		books[b] = book
		recs, err := bucketFeatures(ctx, cfg.Workdir, b, []features.Config{fcfg}, []*features.KPIBook{book}, true, nil)
		for _, rec := range recs {
			rec.Release()
		}
		return err
	})
	return books, err
}

// mergeBooks merges the buckets' books in bucket order into the first.
func mergeBooks(books []*features.KPIBook) (*features.KPIBook, error) {
	if len(books) == 0 || slices.Contains(books, nil) {
		return nil, fmt.Errorf("pipeline: a bucket's KPI book is missing")
	}
	for _, b := range books[1:] {
		if err := books[0].Merge(b); err != nil {
			return nil, err
		}
	}
	return books[0], nil
}

// kpiRows turns the book into rows, rounded as kpis.csv writes them so that
// the CSV and Parquet files hold the same numbers.
func kpiRows(book *features.KPIBook, asOf time.Time) []datasets.KPIRow {
	ks := book.Rows(asOf)
	out := make([]datasets.KPIRow, len(ks))
	for i, k := range ks {
		out[i] = datasets.KPIRow{Month: k.Month, Segment: k.Segment, Complete: k.Complete, Customers: k.Customers,
			ActiveCustomers: k.Active, NewCustomers: k.New, Retained: k.Retained, Reactivated: k.Reactivated,
			Churned: k.Churned, PreviousActive: k.PrevActive, RetentionRate: round(k.RetentionRate, 4),
			ChurnRate: round(k.ChurnRate, 4), RepeatPurchaseRate: round(k.RepeatPurchaseRate, 4), Orders: k.Orders,
			PurchaseFrequency: round(k.PurchaseFrequency, 4), Revenue: round(float64(k.NetCents)/100, 2),
			AvgOrderValue: round(k.AvgOrderValue, 2), RevenuePerCustomer: round(k.RevenuePerCustomer, 2),
			NPS: round(k.NPS, 1), NPSResponses: k.NPSResponses, CSATMean: round(k.CSATMean, 3), CSATResponses: k.CSATResponses,
			CESMean: round(k.CESMean, 3), CESResponses: k.CESResponses, Complaints: k.Complaints,
			ComplaintRate: round(k.ComplaintRate, 4), ReturnRate: round(k.ReturnRate, 4), ReturnLineRate: round(k.ReturnLineRate, 4)}
	}
	return out
}

// cohortRows is the cohort matrix; clv maps a cohort month index to the
// sum and count of its customers' predicted CLV (nil: no CLV column).
func cohortRows(book *features.KPIBook, clv map[int][2]float64) []datasets.CohortRow {
	out := make([]datasets.CohortRow, len(book.Cohorts))
	for c := range book.Cohorts {
		m := book.First + c
		r := datasets.CohortRow{Cohort: features.MonthStart(m).Format("2006-01"), Customers: book.CohortSize[c],
			Active: book.Cohorts[c], MeanCLV: math.NaN()}
		if s, ok := clv[m]; ok && s[1] > 0 {
			r.MeanCLV = round(s[0]/s[1], 2)
		}
		out[c] = r
	}
	return out
}

// firstOrderDays returns the snapshot's first_order_date column as days
// since 1970-01-01.
func firstOrderDays(rec arrow.RecordBatch) ([]int32, error) {
	idx := rec.Schema().FieldIndices(features.FirstOrderDate)
	if len(idx) == 0 {
		return nil, fmt.Errorf("pipeline: snapshot has no %s", features.FirstOrderDate)
	}
	col, ok := rec.Column(idx[0]).(*array.Date32)
	if !ok {
		return nil, fmt.Errorf("pipeline: snapshot column %s is not a date", features.FirstOrderDate)
	}
	out := make([]int32, col.Len())
	for i := range out {
		out[i] = int32(col.Value(i))
	}
	return out, nil
}

// clvByCohort sums the predicted CLV of scored rows by the month of their
// first order (first, days since 1970-01-01; rows in snapshot order).
func clvByCohort(first []int32, rows []listRow) (map[int][2]float64, error) {
	if len(first) != len(rows) {
		return nil, fmt.Errorf("pipeline: snapshot column %s has %d rows, the list %d", features.FirstOrderDate, len(first), len(rows))
	}
	out := map[int][2]float64{}
	for i := range rows {
		m := features.MonthIndex(arrow.Date32(first[i]).ToTime())
		s := out[m]
		s[0] += rows[i].clv
		s[1]++
		out[m] = s
	}
	return out, nil
}

// newKPIBook is an empty KPI book of asOf whose months start at the
// warehouse's first.
func newKPIBook(cfg Config, info datasets.WarehouseInfo, asOf time.Time) (*features.KPIBook, error) {
	return features.NewKPIBook(time.UnixMicro(info.MinTS).UTC(), asOf, cfg.Tiers)
}

// bookCache holds the KPI books that snapshot builds filled on the way
// (Config.books), until the list takes them: the KPIs of a day whose
// snapshot was just built need no second pass over the warehouse.
type bookCache struct {
	mu    sync.Mutex
	books map[string]*features.KPIBook
}

func (c *bookCache) put(key string, book *features.KPIBook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.books == nil {
		c.books = map[string]*features.KPIBook{}
	}
	c.books[key] = book
}

// take returns the book of key, or nil, and forgets it.
func (c *bookCache) take(key string) *features.KPIBook {
	c.mu.Lock()
	defer c.mu.Unlock()
	book := c.books[key]
	delete(c.books, key)
	return book
}

// kpiKey names the KPI book of asOf: everything computeKPIs reads.
func kpiKey(cfg Config, warehouseVersion string, asOf time.Time) string {
	return inputsKey("kpis", warehouseVersion, dateString(asOf), features.FormatTiers(cfg.Tiers), cfg.TierWindow, cfg.CancelWindow,
		cfg.Timezone, features.SchemaVersion())
}
