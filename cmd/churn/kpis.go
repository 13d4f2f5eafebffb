package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
)

func newKPIs() *cobra.Command {
	var o options
	var asOf string
	c := &cobra.Command{
		Use:   "kpis --workdir W --as-of DATE",
		Short: "Monthly loyalty KPIs per tier and the cohort retention matrix",
		Long: `Computes the loyalty KPI book from the warehouse as known at the end of the
as-of day: per month, for all customers and per loyalty tier (at the start of
the month): customers, active, new, retained, reactivated and churned counts,
retention and churn rate, repeat purchase rate, purchase frequency, average
order value, revenue per customer, NPS with its answer count, mean CSAT and
CES, complaint and return rates; and the cohort retention matrix (acquisition
month × months since the first order).

Writes kpis.csv, kpis.parquet and cohorts.csv to <workdir>/kpis/as-of=DATE/
and prints the last 12 months. "churn score" and "churn run" put the same
files, with each cohort's mean predicted CLV, into the list folder and the
report.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, t, err := datedConfig(c, &o, "as-of", asOf)
			if err != nil {
				return err
			}
			res, err := pipeline.KPIs(c.Context(), cfg, t)
			if err != nil {
				return err
			}
			printKPIs(c.OutOrStdout(), res)
			return nil
		},
	}
	stageFlags(c, &o, false)
	c.Flags().StringVar(&asOf, "as-of", "", "last day of data the KPIs count, YYYY-MM-DD or today, yesterday in --timezone (required)")
	return c
}

func printKPIs(w io.Writer, res pipeline.KPIResult) {
	var all []datasets.KPIRow
	for _, r := range res.Rows {
		if r.Segment == "all" {
			all = append(all, r)
		}
	}
	fmt.Fprintf(w, "KPI book as of %s: %s\n\n", res.AsOf, res.Dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "month\tactive\tnew\tretained\treactivated\tchurned\tretention\tchurn\trepeat\tAOV\tNPS (n)\tCSAT\tcomplaints/active")
	pct := func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
	}
	num := func(v float64, p int) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', p, 64)
	}
	for _, r := range all[max(0, len(all)-12):] {
		m := r.Month
		if !r.Complete {
			m += " (to date)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s (%d)\t%s\t%s\n", m, r.ActiveCustomers, r.NewCustomers, r.Retained,
			r.Reactivated, r.Churned, pct(r.RetentionRate), pct(r.ChurnRate), pct(r.RepeatPurchaseRate), num(r.AvgOrderValue, 2),
			num(r.NPS, 0), r.NPSResponses, num(r.CSATMean, 2), pct(r.ComplaintRate))
	}
	tw.Flush()
}
