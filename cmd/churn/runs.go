package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/churn-dev/churn/pipeline"
)

func newStatus() *cobra.Command {
	var o options
	var last int
	c := &cobra.Command{
		Use:   "status --workdir W [--last 10]",
		Short: "Show the last runs of a work directory and the list that is live",
		Long: `Lists the last runs of "churn run" (runs/<id>/run.json), newest first: as-of day,
status (running, ok, failed, or interrupted for a run killed before it finished),
duration, each stage's outcome, and the published list; and which list
lists/LATEST points at. "churn runs show ID" prints one run's whole manifest.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.keep = manifestsOnly // run records and lists/LATEST are fetched as pointers
			cfg, err := pipelineConfig(c, &o)
			if err != nil {
				return err
			}
			runs, err := pipeline.ListRuns(cfg.Workdir)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			if l := pipeline.Latest(cfg.Workdir); l != "" {
				fmt.Fprintf(w, "live list: lists/as-of=%s\n\n", l)
			} else {
				fmt.Fprintf(w, "no list published yet\n\n")
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "run\tas-of\tstatus\tseconds\tstages\terror")
			for i, r := range runs {
				if i >= last {
					break
				}
				var st []string
				for _, s := range r.Stages {
					st = append(st, s.Name+":"+s.Status)
				}
				msg := r.Error
				if len(msg) > 80 {
					msg = msg[:77] + "..."
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\t%s\n", r.ID, r.AsOf, r.Status, r.Seconds, strings.Join(st, " "), msg)
			}
			return tw.Flush()
		},
	}
	stageFlags(c, &o, false)
	c.Flags().IntVar(&last, "last", 10, "how many runs to show")
	return c
}

func newRuns() *cobra.Command {
	c := &cobra.Command{Use: "runs", Short: "Inspect runs (churn runs show ID)"}
	var o options
	show := &cobra.Command{
		Use:   "show RUN-ID --workdir W",
		Short: "Print a run's manifest: config, versions, inputs, stages",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.keep = manifestsOnly
			cfg, err := pipelineConfig(c, &o)
			if err != nil {
				return err
			}
			m, err := pipeline.ShowRun(cfg.Workdir, args[0])
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.OutOrStdout(), string(b))
			return err
		},
	}
	stageFlags(show, &o, false)
	c.AddCommand(show)
	return c
}

// manifestsOnly makes the copy of an object-storage work directory hold
// only manifests and pointers: what status and runs read.
func manifestsOnly(string) bool { return false }
