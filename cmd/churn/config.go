package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newConfig() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Check a configuration (churn config check)"}
	var o options
	var ing ingestOptions
	var asOf string
	check := &cobra.Command{
		Use:   "check [--config churn.yaml] [any run flag]",
		Short: "Validate the config file, CHURN_* variables and flags, and print the resolved settings",
		Long: `Resolves the settings churn run would use — flags, then CHURN_<FLAG> environment
variables, then the YAML config file, then defaults — validates them, and prints
every setting as YAML (a file you can keep as your config). Unknown keys in the
file, bad values and a bad rules file are errors (exit code 2).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.localOnly = true
			if _, err := pipelineConfig(c, &o); err != nil {
				return err
			}
			ing.timezone = o.timezone
			if _, err := ing.input(); err != nil {
				return err
			}
			var names []string
			c.Flags().VisitAll(func(f *pflag.Flag) {
				if f.Name != "config" && f.Name != "help" {
					names = append(names, f.Name)
				}
			})
			sort.Strings(names)
			w := c.OutOrStdout()
			for _, n := range names {
				f := c.Flags().Lookup(n)
				v := f.Value.String()
				switch f.Value.Type() {
				case "stringSlice": // [a,b] → "a,b", as the flag takes it
					v = fmt.Sprintf("%q", strings.Trim(v, "[]"))
				case "string":
					v = fmt.Sprintf("%q", v)
				}
				fmt.Fprintf(w, "%s: %s\n", n, v)
			}
			return nil
		},
	}
	stageFlags(check, &o, true)
	ing.flags(check)
	check.Flags().StringVar(&asOf, "as-of", "", "scoring day YYYY-MM-DD")
	c.AddCommand(check)
	return c
}
