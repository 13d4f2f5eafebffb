package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/churn-dev/churn/pipeline"
)

func newUplift() *cobra.Command {
	var o options
	var list, asOf string
	c := &cobra.Command{
		Use:   "uplift --workdir W --list DATE --as-of LATER",
		Short: "Compare contacted and control customers of a published list",
		Long: `Measures a retention campaign: among the customers a list marked to contact
(column contact) and the control customers held out in the same ranked range
(column control), compares retention (at least one order) and net spend over
the days after the list up to --as-of, with 95% confidence intervals (Wald for
the retention difference, Welch for the spend difference, normal quantiles).
Writes <workdir>/uplift/list=DATE/as-of=LATER/uplift.json and prints it.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, t, err := datedConfig(c, &o, "as-of", asOf)
			if err != nil {
				return err
			}
			l, err := parseDateFlag("list", list)
			if err != nil {
				return err
			}
			res, err := pipeline.Uplift(c.Context(), cfg, l, t)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "list %s, outcome %s … %s (%d days): %s\n\n", res.List, res.List, res.AsOf, res.Days, res.Dir)
			fmt.Fprintf(w, "%-10s %10s %10s %10s %12s\n", "group", "customers", "retained", "retention", "mean spend")
			for _, g := range []struct {
				name string
				o    pipeline.GroupOutcome
			}{{"contacted", res.Contacted}, {"control", res.Control}} {
				fmt.Fprintf(w, "%-10s %10d %10d %9.1f%% %12.2f\n", g.name, g.o.Customers, g.o.Retained, 100*g.o.RetentionRate, g.o.MeanSpend)
			}
			fmt.Fprintf(w, "\nretention uplift %+.1f points (95%% CI %+.1f … %+.1f)\n", 100*res.RetentionUplift, 100*res.RetentionCI[0], 100*res.RetentionCI[1])
			fmt.Fprintf(w, "spend uplift %+.2f per customer (95%% CI %+.2f … %+.2f), incremental revenue %.2f\n", res.SpendUplift, res.SpendCI[0], res.SpendCI[1], res.IncrementalRevenue)
			return nil
		},
	}
	stageFlags(c, &o, false)
	c.Flags().StringVar(&list, "list", "", "as-of day of the published list whose campaign to measure (required)")
	c.Flags().StringVar(&asOf, "as-of", "", "last day of the outcome window, after the list's day (required)")
	return c
}
