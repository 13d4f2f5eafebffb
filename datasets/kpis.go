package datasets

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
)

// File names of the KPI book (in a list folder and in <workdir>/kpis/as-of=DATE).
const (
	KPIsDir     = "kpis"
	KPIsCSV     = "kpis.csv"
	KPIsParquet = "kpis.parquet"
	CohortsCSV  = "cohorts.csv"
)

// KPIRow is one month × segment of the loyalty KPI book. Rates are NaN
// (empty in CSV) when their base is zero.
type KPIRow struct {
	Month              string  `parquet:"month,dict"` // YYYY-MM
	Segment            string  `parquet:"segment,dict"`
	Complete           bool    `parquet:"complete"` // false for a month still running at the as-of day
	Customers          int64   `parquet:"customers"`
	ActiveCustomers    int64   `parquet:"active_customers"`
	NewCustomers       int64   `parquet:"new_customers"`
	Retained           int64   `parquet:"retained_customers"`
	Reactivated        int64   `parquet:"reactivated_customers"`
	Churned            int64   `parquet:"churned_customers"`
	PreviousActive     int64   `parquet:"previous_active"`
	RetentionRate      float64 `parquet:"retention_rate"`
	ChurnRate          float64 `parquet:"churn_rate"`
	RepeatPurchaseRate float64 `parquet:"repeat_purchase_rate"`
	Orders             int64   `parquet:"orders"`
	PurchaseFrequency  float64 `parquet:"purchase_frequency"`
	Revenue            float64 `parquet:"revenue"` // net, currency units
	AvgOrderValue      float64 `parquet:"average_order_value"`
	RevenuePerCustomer float64 `parquet:"revenue_per_customer"`
	NPS                float64 `parquet:"nps"`
	NPSResponses       int64   `parquet:"nps_responses"`
	CSATMean           float64 `parquet:"csat_mean"`
	CSATResponses      int64   `parquet:"csat_responses"`
	CESMean            float64 `parquet:"ces_mean"`
	CESResponses       int64   `parquet:"ces_responses"`
	Complaints         int64   `parquet:"complaints"`
	ComplaintRate      float64 `parquet:"complaint_rate"`
	ReturnRate         float64 `parquet:"return_rate"`
	ReturnLineRate     float64 `parquet:"return_line_rate"`
}

// KPIColumns is the header of kpis.csv, in order.
var KPIColumns = []string{"month", "segment", "complete", "customers", "active_customers", "new_customers",
	"retained_customers", "reactivated_customers", "churned_customers", "previous_active", "retention_rate",
	"churn_rate", "repeat_purchase_rate", "orders", "purchase_frequency", "revenue", "average_order_value",
	"revenue_per_customer", "nps", "nps_responses", "csat_mean", "csat_responses", "ces_mean", "ces_responses",
	"complaints", "complaint_rate", "return_rate", "return_line_rate"}

// formatRate writes v with prec decimals, "" for NaN.
func formatRate(v float64, prec int) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func (r *KPIRow) record() []string {
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{r.Month, r.Segment, strconv.FormatBool(r.Complete), i(r.Customers), i(r.ActiveCustomers), i(r.NewCustomers),
		i(r.Retained), i(r.Reactivated), i(r.Churned), i(r.PreviousActive), formatRate(r.RetentionRate, 4),
		formatRate(r.ChurnRate, 4), formatRate(r.RepeatPurchaseRate, 4), i(r.Orders), formatRate(r.PurchaseFrequency, 4),
		formatRate(r.Revenue, 2), formatRate(r.AvgOrderValue, 2), formatRate(r.RevenuePerCustomer, 2),
		formatRate(r.NPS, 1), i(r.NPSResponses), formatRate(r.CSATMean, 3), i(r.CSATResponses), formatRate(r.CESMean, 3),
		i(r.CESResponses), i(r.Complaints), formatRate(r.ComplaintRate, 4), formatRate(r.ReturnRate, 4), formatRate(r.ReturnLineRate, 4)}
}

// WriteKPIsCSV writes rows as UTF-8 CSV with KPIColumns as header.
func WriteKPIsCSV(w io.Writer, rows []KPIRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(KPIColumns); err != nil {
		return fmt.Errorf("datasets: write csv: %w", err)
	}
	for k := range rows {
		if err := cw.Write(rows[k].record()); err != nil {
			return fmt.Errorf("datasets: write csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadKPIsCSV reads a kpis.csv written by WriteKPIsCSV.
func ReadKPIsCSV(name string, r io.Reader) ([]KPIRow, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, csvError(name, err)
	}
	if len(recs) == 0 || len(recs[0]) != len(KPIColumns) {
		return nil, &DataError{File: name, Line: 1, Msg: "not a KPI book: header mismatch"}
	}
	out := make([]KPIRow, 0, len(recs)-1)
	for n, rec := range recs[1:] {
		c := &cells{file: name, line: n + 2, header: KPIColumns, rec: rec}
		str, i, f, b := c.str, c.int, c.rate, c.bool
		r := KPIRow{Month: str(), Segment: str(), Complete: b(), Customers: i(), ActiveCustomers: i(), NewCustomers: i(),
			Retained: i(), Reactivated: i(), Churned: i(), PreviousActive: i(), RetentionRate: f(), ChurnRate: f(),
			RepeatPurchaseRate: f(), Orders: i(), PurchaseFrequency: f(), Revenue: f(), AvgOrderValue: f(),
			RevenuePerCustomer: f(), NPS: f(), NPSResponses: i(), CSATMean: f(), CSATResponses: i(), CESMean: f(),
			CESResponses: i(), Complaints: i(), ComplaintRate: f(), ReturnRate: f(), ReturnLineRate: f()}
		if c.err != nil {
			return nil, c.err
		}
		out = append(out, r)
	}
	return out, nil
}

// cells reads the fields of one CSV record in order, keeping the first
// parse error as a DataError naming file, line and column.
type cells struct {
	file   string
	line   int
	header []string
	rec    []string
	col    int
	err    error
}

func (c *cells) str() string { c.col++; return c.rec[c.col-1] }

func (c *cells) fail(err error) {
	if err != nil && c.err == nil {
		c.err = &DataError{File: c.file, Line: c.line, Column: c.col, Field: c.header[c.col-1], Msg: err.Error()}
	}
}

func (c *cells) int() int64 { v, err := strconv.ParseInt(c.str(), 10, 64); c.fail(err); return v }

func (c *cells) num() float64 { v, err := strconv.ParseFloat(c.str(), 64); c.fail(err); return v }

// rate is num with an empty cell read as NaN.
func (c *cells) rate() float64 {
	if c.rec[c.col] == "" {
		c.col++
		return math.NaN()
	}
	return c.num()
}

func (c *cells) bool() bool { v, err := strconv.ParseBool(c.str()); c.fail(err); return v }

// WriteKPIsParquet writes the rows to path.
func WriteKPIsParquet(path string, rows []KPIRow) error { return writeParquetRows(path, rows) }

// ReadKPIsParquet reads a kpis.parquet written by WriteKPIsParquet.
func ReadKPIsParquet(path string) ([]KPIRow, error) { return readParquetRows[KPIRow](path) }

// CohortRow is one acquisition month of the cohort retention matrix:
// Active[k] customers of the cohort ordered k months after it began.
type CohortRow struct {
	Cohort    string // YYYY-MM of the first order
	Customers int64
	Active    []int64
	// MeanCLV is the cohort's mean predicted CLV at the as-of day (NaN when
	// the book was made without a scored list).
	MeanCLV float64
}

// WriteCohortsCSV writes the cohort matrix: cohort, customers,
// mean_predicted_clv, then month_0 … month_N as shares of the cohort (4 decimals).
func WriteCohortsCSV(w io.Writer, rows []CohortRow) error {
	width := 0
	for _, r := range rows {
		width = max(width, len(r.Active))
	}
	header := []string{"cohort", "customers", "mean_predicted_clv"}
	for k := range width {
		header = append(header, "month_"+strconv.Itoa(k))
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write(header)
	for _, r := range rows {
		rec := []string{r.Cohort, strconv.FormatInt(r.Customers, 10), formatRate(r.MeanCLV, 2)}
		for k := range width {
			s := ""
			if k < len(r.Active) && r.Customers > 0 {
				s = strconv.FormatFloat(float64(r.Active[k])/float64(r.Customers), 'f', 4, 64)
			}
			rec = append(rec, s)
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("datasets: write csv: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}
