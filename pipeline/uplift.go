package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
)

// GroupOutcome is what one group of a list did after it was published.
type GroupOutcome struct {
	Customers     int     `json:"customers"`
	Retained      int     `json:"retained"`       // ordered at least once in the window
	RetentionRate float64 `json:"retention_rate"` // retained / customers
	MeanSpend     float64 `json:"mean_spend"`     // net amount per customer in the window, currency units
	SDSpend       float64 `json:"sd_spend"`       // its standard deviation
}

// UpliftResult compares the contacted customers of a list with its control
// group over the days after the list, with 95% confidence intervals
// (normal approximation: Wald for the retention difference, Welch for the
// spend difference).
type UpliftResult struct {
	Dir                string       `json:"-"`
	List               string       `json:"list"`  // as-of day of the list
	AsOf               string       `json:"as_of"` // end of the outcome window
	Days               int          `json:"days"`
	Contacted          GroupOutcome `json:"contacted"`
	Control            GroupOutcome `json:"control"`
	RetentionUplift    float64      `json:"retention_uplift"` // contacted − control retention rate
	RetentionCI        [2]float64   `json:"retention_ci95"`
	SpendUplift        float64      `json:"spend_uplift"` // contacted − control mean spend
	SpendCI            [2]float64   `json:"spend_ci95"`
	IncrementalRevenue float64      `json:"incremental_revenue"` // spend uplift × contacted customers
}

// Uplift reads the published list of listDay and the warehouse, and
// compares the customers the list marked to contact with the control
// customers in the same ranked range (those the sizing would have contacted
// but held out), over (listDay, asOf]. The result goes to
// <workdir>/uplift/list=DAY/as-of=DAY/uplift.json.
func Uplift(ctx context.Context, cfg Config, listDay, asOf time.Time) (UpliftResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return UpliftResult{}, err
	}
	if !asOf.After(listDay) {
		return UpliftResult{}, fmt.Errorf("pipeline: uplift --as-of %s must be after the list's day %s", dateString(asOf), dateString(listDay))
	}
	dir := datasets.ListDir(cfg.Workdir, dateString(listDay))
	if !datasets.Committed(dir) {
		return UpliftResult{}, fmt.Errorf("pipeline: no published list for %s in %s", dateString(listDay), cfg.Workdir)
	}
	rows, err := datasets.ReadListEntries(filepath.Join(dir, datasets.ScoresParquet)) // who was contacted or held out, not whole rows
	if err != nil {
		return UpliftResult{}, err
	}
	// The contacted range ends at the last contacted rank; control
	// customers in it are the comparable hold-outs.
	var last int64
	for _, r := range rows {
		if r.Contact {
			last = max(last, r.Rank)
		}
	}
	group := map[string]int{} // 0 contacted, 1 control
	for _, r := range rows {
		switch {
		case r.Rank > last:
		case r.Contact:
			group[r.CustomerID] = 0
		case r.Control:
			group[r.CustomerID] = 1
		}
	}
	_, info, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		return UpliftResult{}, err
	}
	dayEnd := func(t time.Time) int64 { return dayOf(t.UnixMicro()).AddDate(0, 0, 1).UnixMicro() } // first instant after t's day
	from, to := dayEnd(listDay), dayEnd(asOf)
	type outcome struct {
		ordered bool
		spend   int64
	}
	parts := make([]map[string]outcome, info.Buckets)
	err = forEachBucket(ctx, cfg, "uplift", info.Buckets, func(b int) error {
		rr, closeFile, err := datasets.OpenWarehouseBucket(ctx, cfg.Workdir, b, memory.DefaultAllocator,
			datasets.ColCustomerID, datasets.ColTS, datasets.ColAmountCents, datasets.ColLineKind)
		if err != nil {
			return err
		}
		defer closeFile()
		defer rr.Release()
		out := map[string]outcome{}
		for rr.Next() {
			rec := rr.RecordBatch()
			col := func(name string) arrow.Array { return datasets.Column(rec, name) }
			ids, ok1 := col(datasets.ColCustomerID).(*array.String)
			ts, ok2 := col(datasets.ColTS).(*array.Timestamp)
			amt, ok3 := col(datasets.ColAmountCents).(*array.Int64)
			if !ok1 || !ok2 || !ok3 {
				return fmt.Errorf("pipeline: bucket %d: unexpected columns %s", b, rec.Schema())
			}
			kinds, _ := col(datasets.ColLineKind).(*array.String)
			for i := range int(rec.NumRows()) {
				t := int64(ts.Value(i))
				if t < from || t >= to {
					continue
				}
				if kinds != nil && datasets.IsNonProduct(kinds.Value(i)) {
					continue
				}
				id := ids.Value(i)
				if _, ok := group[id]; !ok {
					continue
				}
				o, seen := out[id]
				if !seen {
					id = strings.Clone(id) // Value is a view of the batch's buffer; the map outlives the batch
				}
				o.spend += amt.Value(i)
				o.ordered = o.ordered || amt.Value(i) >= 0
				out[id] = o
			}
		}
		parts[b] = out
		return rr.Err()
	})
	if err != nil {
		return UpliftResult{}, err
	}
	var spends [2][]float64
	var retained [2]int
	for _, r := range rows { // list order: sums are repeatable
		g, ok := group[r.CustomerID]
		if !ok {
			continue
		}
		o := parts[datasets.Bucket(r.CustomerID, info.Buckets)][r.CustomerID]
		spends[g] = append(spends[g], float64(o.spend)/100)
		if o.ordered {
			retained[g]++
		}
	}
	if len(spends[0]) == 0 || len(spends[1]) == 0 {
		return UpliftResult{}, fmt.Errorf("pipeline: the list of %s has %d contacted and %d control customers in its contacted range: no comparison (is --control-share 0?)",
			dateString(listDay), len(spends[0]), len(spends[1]))
	}
	res := UpliftResult{List: dateString(listDay), AsOf: dateString(asOf), Days: int((to - from) / int64(24*time.Hour/time.Microsecond)),
		Contacted: groupOutcome(spends[0], retained[0]), Control: groupOutcome(spends[1], retained[1])}
	res.RetentionUplift, res.RetentionCI = proportionDiff(res.Contacted, res.Control)
	res.SpendUplift, res.SpendCI = meanDiff(res.Contacted, res.Control)
	res.IncrementalRevenue = res.SpendUplift * float64(res.Contacted.Customers)
	res.Dir = filepath.Join(cfg.Workdir, "uplift", "list="+res.List, "as-of="+res.AsOf)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return res, err
	}
	err = datasets.CommitFolder(res.Dir, func(tmp string) (datasets.Manifest, error) {
		if err := os.WriteFile(filepath.Join(tmp, "uplift.json"), append(b, '\n'), datasets.FileMode); err != nil {
			return datasets.Manifest{}, fmt.Errorf("pipeline: %w", err)
		}
		return datasets.Manifest{Kind: "uplift", Rows: 2, Meta: map[string]string{"list": res.List, "as_of": res.AsOf}}, nil
	})
	return res, err
}

func groupOutcome(spend []float64, retained int) GroupOutcome {
	g := GroupOutcome{Customers: len(spend), Retained: retained, RetentionRate: float64(retained) / float64(len(spend))}
	for _, v := range spend {
		g.MeanSpend += v
	}
	g.MeanSpend /= float64(len(spend))
	if len(spend) > 1 {
		var ss float64
		for _, v := range spend {
			ss += (v - g.MeanSpend) * (v - g.MeanSpend)
		}
		g.SDSpend = math.Sqrt(ss / float64(len(spend)-1))
	}
	return g
}

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// proportionDiff is the difference of retention rates with its Wald 95% interval.
func proportionDiff(a, b GroupOutcome) (float64, [2]float64) {
	d := a.RetentionRate - b.RetentionRate
	se := math.Sqrt(a.RetentionRate*(1-a.RetentionRate)/float64(a.Customers) + b.RetentionRate*(1-b.RetentionRate)/float64(b.Customers))
	return d, [2]float64{d - z95*se, d + z95*se}
}

// meanDiff is the difference of mean spend with its Welch 95% interval (normal quantile).
func meanDiff(a, b GroupOutcome) (float64, [2]float64) {
	d := a.MeanSpend - b.MeanSpend
	se := math.Sqrt(a.SDSpend*a.SDSpend/float64(a.Customers) + b.SDSpend*b.SDSpend/float64(b.Customers))
	return d, [2]float64{d - z95*se, d + z95*se}
}
