package main

import (
	"cmp"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
)

func newGenerate() *cobra.Command {
	var n int
	var seed uint64
	var out, end, config string
	var years int
	var subs bool
	c := &cobra.Command{
		Use:   "generate --customers N --seed S --out DIR",
		Short: "Write a synthetic shop with known truth (transactions, customers, feedback, truth)",
		Long: `Simulates a shop: customers arrive over time, buy at heterogeneous rates with
seasonality, spend heterogeneous amounts over several lines per order, get
discounts, return items (negative amounts), answer NPS/CSAT surveys and complain
(both correlated with dropping out), and drop out (a Pareto/NBD-like process).
With --subscriptions it is a subscription shop: feedback.csv also records a
subscribe event at each customer's first order and a cancel event at the
dropout (contractual churn).

Writes DIR/transactions.csv, customers.csv, feedback.csv and truth.csv (each
customer's latent purchase and dropout rates, dropout date, mean order value).
The same --seed gives byte-identical files.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := applyConfig(c); err != nil {
				return err
			}
			if out == "" {
				return usagef("--out is required: the folder to write the CSV files to")
			}
			if n <= 0 {
				return usagef("--customers must be a positive number, got %d", n)
			}
			cfg := datasets.SyntheticConfig{Customers: n, Seed: seed, Years: years, Subscriptions: subs}
			if end != "" {
				t, err := parseDateFlag("end", end)
				if err != nil {
					return err
				}
				cfg.End = t
			}
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			start := time.Now()
			st, err := datasets.Generate(c.Context(), cfg, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: %d customers, %d orders, %d lines, %d refunds, %d feedback rows in %s\n",
				out, st.Customers, st.Orders, st.Lines, st.Refunds, st.Feedback, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&n, "customers", 0, "number of customers (required)")
	f.Uint64Var(&seed, "seed", 1, "random seed")
	f.StringVar(&out, "out", "", "output folder (required)")
	f.StringVar(&end, "end", datasets.DefaultSyntheticEnd.Format(time.DateOnly), "last day of the generated history (YYYY-MM-DD)")
	f.IntVar(&years, "years", 3, "years of history")
	f.BoolVar(&subs, "subscriptions", false, "a subscription shop: subscribe and cancel events in feedback.csv (contractual churn)")
	f.StringVar(&config, "config", "", "YAML config file; keys are flag names")
	return c
}

func newFeatures() *cobra.Command {
	var o options
	var cutoff string
	var catalogue, describe bool
	var export string
	c := &cobra.Command{
		Use:   "features --workdir W --cutoff DATE [--horizon 90d]",
		Short: "Build the per-customer feature snapshot at a cutoff date",
		Long: `Computes one row per customer from transactions up to and including the
cutoff day: RFM and RFM scores, the BTYD summary, behaviour over 30/90/365 days,
inter-purchase gaps, refunds. When the data covers the horizon after the
cutoff, the snapshot also gets labels (churned = no order within the horizon).
Writes <workdir>/features/cutoff=DATE/.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if catalogue {
				_, err := fmt.Fprint(c.OutOrStdout(), pipeline.FeatureCatalogue())
				return err
			}
			cfg, t, err := datedConfig(c, &o, "cutoff", cutoff)
			if err != nil {
				return err
			}
			if describe {
				return describeFeatures(c, cfg.Workdir, t)
			}
			if export != "" {
				n, err := pipeline.ExportSnapshot(c.Context(), cfg.Workdir, t, export)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "wrote %s: %d customers\n", export, n)
				return nil
			}
			res, err := pipeline.Features(c.Context(), cfg, t)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: %d customers, labelled=%v\n", res.Dir, res.Customers, res.Labelled)
			if cfg.Shard.Sharded() {
				fmt.Fprintf(c.OutOrStdout(), "when all %d shards are done, churn features --workdir %s --cutoff %s (without --shard) finishes the snapshot from them\n", cfg.Shard.N, cfg.Workdir, cutoff)
			}
			return nil
		},
	}
	stageFlags(c, &o, false)
	shardFlag(c, &o, "build only shard i of n (i/n, e.g. 0/4): the buckets b with b mod n = i, into <workdir>/shards/features/; the same command without --shard then finishes the snapshot from the shards' parts (the RFM scores need every customer)")
	c.Flags().StringVar(&cutoff, "cutoff", "", "cutoff day YYYY-MM-DD (or today, yesterday in --timezone), included (required)")
	c.Flags().BoolVar(&describe, "describe", false, "print a summary (count, nulls, mean, quantiles) of every numeric column of the snapshot at --cutoff instead of building it")
	c.Flags().StringVar(&export, "export", "", "write the snapshot at --cutoff (built before) to this CSV file, every column and label, instead of building it")
	c.Flags().BoolVar(&catalogue, "catalogue", false, "print the feature catalogue (every column, its unit, window, empty meaning, in English and Chinese) and exit")
	return c
}

func newTrain() *cobra.Command {
	var o options
	var cutoff string
	c := &cobra.Command{
		Use:   "train --workdir W --cutoff DATE [--models logit,gbdt,btyd,golearn]",
		Short: "Train the churn classifier and the CLV models with data up to a date",
		Long: `Uses only data up to and including the cutoff. The churn candidates (--models:
logistic regression, gradient-boosted trees, the BTYD baseline, optionally the
golearn challenger) learn from up to four monthly snapshots ending at
cutoff − 2×horizon and are judged out of time on the snapshot at
cutoff − horizon; the best ROC AUC is calibrated and refitted with that snapshot.
It replaces the churn champion only if it beats it on the same validation by
--promote-margin (or the champion is older than --max-model-age); the
leaderboard and the decision are printed. BG/NBD, MBG/NBD and Pareto/NBD compete
for CLV, with Gamma-Gamma spend. Models go to <workdir>/models/<kind>/<version>/.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, t, err := datedConfig(c, &o, "cutoff", cutoff)
			if err != nil {
				return err
			}
			res, err := pipeline.Train(c.Context(), cfg, t)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			if cfg.Shard.Sharded() {
				for _, s := range res.ShardSnapshots {
					fmt.Fprintf(w, "%s: %d customers, labelled=%v\n", s.Dir, s.Customers, s.Labelled)
				}
				fmt.Fprintf(w, "when all %d shards are done: churn train --workdir %s --cutoff %s (without --shard)\n", cfg.Shard.N, cfg.Workdir, cutoff)
				return nil
			}
			if res.Definition == pipeline.ChurnCancel {
				fmt.Fprintf(w, "churn = a cancel event within %d days (contractual); %d customers cancelled by the validation cutoff left out\n", cfg.Horizon, res.AtRiskExcluded)
			} else if res.Definition != "" {
				fmt.Fprintf(w, "churn = no order within %d days\n", cfg.Horizon)
			}
			printLeaderboard(w, res)
			fmt.Fprintf(w, "churn model %s (%s, out-of-time ROC AUC %.4f, PR AUC %.4f); clv model %s\n",
				res.ChurnVersion, res.Kind, res.Validation.AUC, res.Validation.PRAUC, res.CLVVersion)
			verdict := "promoted to champion"
			if !res.Promotion.Promoted {
				verdict = "saved, not promoted"
			}
			fmt.Fprintf(w, "%s: %s\n", verdict, res.Promotion.Reason)
			return nil
		},
	}
	stageFlags(c, &o, true)
	shardFlag(c, &o, "do only shard i of n's share (i/n, e.g. 0/4): the buckets b with b mod n = i of every snapshot the training reads, into <workdir>/shards/features/; the same command without --shard then trains on all of them")
	c.Flags().StringVar(&cutoff, "cutoff", "", "last day of data the models may see, YYYY-MM-DD or today, yesterday in --timezone (required)")
	return c
}

// describeFeatures prints the summary table of a committed snapshot.
func describeFeatures(c *cobra.Command, workdir string, cutoff time.Time) error {
	sums, err := pipeline.DescribeFeatures(c.Context(), workdir, cutoff)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.OutOrStdout(), 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "feature\tcount\tnulls\tmean\tmin\tp25\tmedian\tp75\tp95\tmax\t")
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 5, 64) }
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Name, s.Count, s.Nulls, g(s.Mean), g(s.Min), g(s.P25), g(s.P50), g(s.P75), g(s.P95), g(s.Max))
	}
	return tw.Flush()
}

// printLeaderboard prints the churn candidates of a training run.
func printLeaderboard(w io.Writer, res pipeline.TrainResult) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "candidate\tROC AUC\tPR AUC\tlog loss\tBrier\tlift top 10%\tcalibration error\tfit seconds\t")
	for _, c := range res.Leaderboard {
		name := c.Model
		if c.Model == res.Kind {
			name += " *"
		}
		if c.Error != "" {
			fmt.Fprintf(tw, "%s\tfailed: %s\t\t\t\t\t\t\n", name, c.Error)
			continue
		}
		v := c.Validation
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.2f\t%.4f\t%.1f\t\n", name, v.AUC, v.PRAUC, v.LogLoss, v.Brier, v.LiftTop10, c.CalibrationError, c.Seconds)
	}
	tw.Flush()
}

func newScore() *cobra.Command {
	var o options
	var asOf string
	c := &cobra.Command{
		Use:   "score --workdir W --as-of DATE [--shard i/n]",
		Short: "Score every customer and publish the retention list",
		Long: `Scores every customer of the snapshot at the as-of date with the champion
models: churn probability, risk tier, P(alive), expected orders, predicted CLV,
value at risk (= churn probability × predicted CLV), RFM segment, reasons and a
suggested action. Publishes <workdir>/lists/as-of=DATE/ with retention_list.csv
(ranked by value at risk), scores.parquet, report.html and a manifest.

With --shard i/n it scores only the buckets b with b mod n = i (the snapshot at
the as-of date must exist: churn features builds it) and writes them to
<workdir>/shards/score/as-of=DATE/shard-III-of-NNN/; the n shards may run at
once, on one machine or several sharing the work directory. churn merge then
publishes the list, byte for byte the one churn score would.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, t, err := datedConfig(c, &o, "as-of", asOf)
			if err != nil {
				return err
			}
			res, err := pipeline.Score(c.Context(), cfg, t)
			if err != nil {
				return err
			}
			if cfg.Shard.Sharded() {
				fmt.Fprintf(c.OutOrStdout(), "shard %s: %d customers scored in %s\nwhen all %d shards are done: churn merge --workdir %s --as-of %s\n",
					cfg.Shard, res.Customers, res.Dir, cfg.Shard.N, cfg.Workdir, asOf)
				return nil
			}
			printResult(c, res)
			return nil
		},
	}
	stageFlags(c, &o, true)
	c.Flags().StringVar(&asOf, "as-of", "", "scoring day YYYY-MM-DD, or today, yesterday in --timezone (required)")
	shardFlag(c, &o, "score only shard i of n (i/n, e.g. 0/4): the buckets b with b mod n = i; churn merge joins the shards")
	return c
}

func newMerge() *cobra.Command {
	var o options
	var asOf string
	var shards int
	var publish bool
	c := &cobra.Command{
		Use:   "merge --workdir W --as-of DATE [--shards N] [--publish]",
		Short: "Publish the retention list from the score shards (churn score --shard i/n)",
		Long: `Joins what churn score --shard i/n wrote for every i into the list churn
score publishes, byte for byte: the ranks, risk permilles, suggested actions,
campaign sizing, movers, KPI book and report look at every customer, so they
are computed here. Every shard must be done and scored from the same champions,
warehouse and settings as this command sees (give it the same flags or config
as the shards); it says which are missing or stale. Publishes
<workdir>/lists/as-of=DATE/.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !publish { // the shards carry the rows; only the guards read the warehouse and snapshots
				o.keep = pipeline.MergeKeep()
			}
			cfg, t, err := datedConfig(c, &o, "as-of", asOf)
			if err != nil {
				return err
			}
			if shards < 0 || shards > pipeline.MaxShards {
				return usagef("--shards must be 1..%d, got %d", pipeline.MaxShards, shards)
			}
			cfg.Shard.N = shards
			res, err := pipeline.Merge(c.Context(), cfg, t)
			if err != nil {
				return err
			}
			if publish {
				rs, err := pipeline.Publish(c.Context(), cfg, t)
				for _, r := range rs {
					if r.Tripped {
						fmt.Fprintf(c.ErrOrStderr(), "guard %s (%s) tripped: %s\n", r.Guard, r.Mode, r.Detail)
					}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "published: lists/LATEST = %s\n", asOf)
			}
			printResult(c, res)
			return nil
		},
	}
	stageFlags(c, &o, true)
	c.Flags().StringVar(&asOf, "as-of", "", "scoring day YYYY-MM-DD, or today, yesterday in --timezone (required)")
	c.Flags().IntVar(&shards, "shards", 0, "how many shards to merge (default: the count of the shard folders found)")
	c.Flags().BoolVar(&publish, "publish", false, "then do what churn run does after scoring: check the publishing guards (--guard-*) and point lists/LATEST at the list (exit 4, LATEST kept, when a guard in stop mode trips)")
	return c
}

// datedConfig resolves the pipeline config and the required date flag.
func datedConfig(c *cobra.Command, o *options, name, value string) (pipeline.Config, time.Time, error) {
	cfg, err := pipelineConfig(c, o)
	if err != nil {
		return cfg, time.Time{}, err
	}
	if t, ok, err := relativeDay(value, cfg.Timezone, time.Now()); ok || err != nil {
		return cfg, t, err
	}
	t, err := parseDateFlag(name, value)
	return cfg, t, err
}

// relativeDay resolves "today" and "yesterday" to the day they are in the
// shop's time zone tz at now (ok false for anything else), so a scheduler
// without a shell can pass --as-of yesterday.
func relativeDay(word, tz string, now time.Time) (time.Time, bool, error) {
	back := map[string]int{"today": 0, "yesterday": 1}
	k, ok := back[word]
	if !ok {
		return time.Time{}, false, nil
	}
	loc, err := time.LoadLocation(cmp.Or(tz, "UTC"))
	if err != nil {
		return time.Time{}, true, usagef("--timezone: %v", err)
	}
	n := now.In(loc)
	return time.Date(n.Year(), n.Month(), n.Day()-k, 0, 0, 0, 0, time.UTC), true, nil
}

func printResult(c *cobra.Command, res pipeline.ScoreResult) {
	w := c.OutOrStdout()
	fmt.Fprintf(w, "\nretention list: %s (%d customers)\nreport:         %s\n\n", res.ListCSV, res.Customers, res.Report)
	printTop(w, res.Top)
}

func newExport() *cobra.Command {
	var o options
	var asOf, format, out string
	var excel, contactsOnly bool
	c := &cobra.Command{
		Use:   "export --workdir W --as-of DATE --format csv|hubspot|salesforce|braze|klaviyo [--out FILE] [--excel] [--contacts-only]",
		Short: "Write a published retention list for a CRM import",
		Long: `Writes the published list of an as-of day in a CRM's import format:

  csv         the full list (retention_list.csv's columns, snake_case)
  hubspot     contact import: Email first, then the scores as properties;
              at most 1,048,576 rows and 512 MB per file; rows need an email
  salesforce  Data Import Wizard: Email, then custom fields (Churn_Probability__c, …);
              at most 50,000 records per file; rows need an email
  braze       user attributes: external_id (the customer id) first, email, phone, attributes
  klaviyo     Email, Phone Number first; at most 50 MB per file; rows need one of them

Emails and phones come from the customers input (churn ingest --customers).
A list over a CRM's per-file limit is split into FILE-001.csv, FILE-002.csv, …
(--out is then required). Files are UTF-8 (--excel adds a byte-order mark so
Excel reads them as UTF-8), dates ISO 8601, and text cells that a spreadsheet
would run as a formula (starting with = + - @) are prefixed with '.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, t, err := datedConfig(c, &o, "as-of", asOf)
			if err != nil {
				return err
			}
			valid := false
			for _, f := range pipeline.ExportFormats {
				valid = valid || f == format
			}
			if !valid {
				return usagef("--format %q: supported formats: %v", format, pipeline.ExportFormats)
			}
			opt := pipeline.ExportOptions{Format: format, Excel: excel, ContactsOnly: contactsOnly, W: c.OutOrStdout()}
			if out != "-" {
				opt.Out = out
			}
			res, err := pipeline.Export(c.Context(), cfg, t, opt)
			if err != nil {
				return err
			}
			if len(res.Files) > 0 {
				fmt.Fprintf(c.ErrOrStderr(), "wrote %d rows to %s\n", res.Rows, strings.Join(res.Files, ", "))
			}
			if res.Skipped > 0 {
				fmt.Fprintf(c.ErrOrStderr(), "left out %d customers without %s (%s cannot import them)\n", res.Skipped, res.Needs, format)
			}
			return nil
		},
	}
	stageFlags(c, &o, false)
	c.Flags().StringVar(&asOf, "as-of", "", "as-of day of the published list (required)")
	c.Flags().StringVar(&format, "format", "csv", "output format: "+strings.Join(pipeline.ExportFormats, ", "))
	c.Flags().StringVar(&out, "out", "", "output file (default: standard output); split exports become FILE-001.csv, …")
	c.Flags().BoolVar(&excel, "excel", false, "start the file with a UTF-8 byte-order mark for Excel")
	c.Flags().BoolVar(&contactsOnly, "contacts-only", false, "only the customers the campaign sizing chose (contact = true)")
	return c
}

func newRun() *cobra.Command {
	var o options
	var asOf string
	var ing ingestOptions
	c := &cobra.Command{
		Use:   "run --workdir W --as-of DATE [--transactions PATH] [--customers PATH] [--feedback PATH] [--config churn.yaml]",
		Short: "The nightly chain: ingest, features, train, score",
		Long: `Runs the whole chain for one as-of date: ingest (when --transactions,
--customers or --feedback is given; the ingest flags apply), the feature
snapshot, training with data up to the as-of date, and scoring. Prints where the list and report are and the top rows of the list.
The same inputs and config give byte-identical lists.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, t, err := datedConfig(c, &o, "as-of", asOf)
			if err != nil {
				return err
			}
			cfg.Buckets = ing.buckets
			ing.timezone = o.timezone
			in, err := ing.input()
			if err != nil {
				return err
			}
			res, err := pipeline.Run(c.Context(), cfg, t, in)
			if err != nil {
				return err
			}
			printResult(c, res.Score)
			return nil
		},
	}
	stageFlags(c, &o, true)
	ing.flags(c)
	c.Flags().StringVar(&asOf, "as-of", "", "scoring day YYYY-MM-DD, or today, yesterday in --timezone (required)")
	return c
}
