package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/churn-dev/churn/pipeline"
)

// newModels is `churn models list|show|promote`.
func newModels() *cobra.Command {
	c := &cobra.Command{
		Use:   "models list|show|promote",
		Short: "List, inspect and promote saved model versions",
		Long: `Every training run saves its models under <workdir>/models/<kind>/<version>/.
A new churn model becomes champion only if it beats the current one on the same
out-of-time validation by --promote-margin (or the champion is older than
--max-model-age or was trained on other features); the others stay saved and
can be promoted by hand.`,
	}
	var kind string
	withWorkdir := func(sc *cobra.Command, o *options) {
		sc.Flags().StringVar(&o.workdir, "workdir", "", "work directory (required)")
		sc.Flags().StringVar(&o.config, "config", "", "YAML config file; keys are flag names")
		sc.Flags().StringVar(&kind, "kind", pipeline.KindChurn, "model kind: churn or clv")
	}
	resolve := func(sc *cobra.Command, o *options) error {
		if err := applyConfig(sc); err != nil {
			return err
		}
		if o.workdir == "" {
			return usagef("--workdir is required")
		}
		if kind != pipeline.KindChurn && kind != pipeline.KindCLV {
			return usagef("--kind %q: want churn or clv", kind)
		}
		var err error
		o.workdir, err = openWorkdir(sc.Context(), o.workdir, pipeline.Shard{}, nil)
		return err
	}
	var lo, so, po options
	list := &cobra.Command{
		Use:   "list --workdir W [--kind churn|clv]",
		Short: "List saved model versions, newest first; * marks the champion",
		Args:  cobra.NoArgs,
		RunE: func(sc *cobra.Command, _ []string) error {
			if err := resolve(sc, &lo); err != nil {
				return err
			}
			ms, err := pipeline.ListModels(lo.workdir, kind)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(sc.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\tversion\tcutoff\tmodel\tROC AUC\tdecision")
			for _, m := range ms {
				mark, auc := "", ""
				if m.Champion {
					mark = "*"
				}
				if m.AUC > 0 {
					auc = fmt.Sprintf("%.4f", m.AUC)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, m.Version, m.Cutoff, m.Model, auc, m.Promotion)
			}
			return tw.Flush()
		},
	}
	withWorkdir(list, &lo)
	show := &cobra.Command{
		Use:   "show VERSION --workdir W [--kind churn|clv]",
		Short: "Print a saved model's model.json",
		Args:  cobra.ExactArgs(1),
		RunE: func(sc *cobra.Command, args []string) error {
			if err := resolve(sc, &so); err != nil {
				return err
			}
			b, err := pipeline.ShowModel(so.workdir, kind, args[0])
			if err != nil {
				return err
			}
			_, err = sc.OutOrStdout().Write(b)
			return err
		},
	}
	withWorkdir(show, &so)
	promote := &cobra.Command{
		Use:   "promote VERSION --workdir W [--kind churn|clv]",
		Short: "Make a saved model version the champion",
		Args:  cobra.ExactArgs(1),
		RunE: func(sc *cobra.Command, args []string) error {
			if err := resolve(sc, &po); err != nil {
				return err
			}
			if err := pipeline.PromoteModel(po.workdir, kind, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(sc.OutOrStdout(), "%s model %s is now the champion\n", kind, args[0])
			return nil
		},
	}
	withWorkdir(promote, &po)
	c.AddCommand(list, show, promote)
	return c
}
