package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
)

const rootLong = `churn turns a shop's transaction history into a risk-ranked retention list:
who is about to leave, what each customer is worth, and what to do about it.

Stages (each is a command; "run" chains them):
  ingest    exports (CSV, Parquet, CDNOW) → <workdir>/warehouse (Parquet, bucketed by customer)
  features  warehouse         → <workdir>/features/cutoff=DATE (one row per customer)
  train     features          → <workdir>/models (churn candidates and champion, BTYD + Gamma-Gamma CLV)
  score     models + features → <workdir>/lists/as-of=DATE (retention_list.csv, scores.parquet, report.html)

Past one machine, ingest, features, train and score take --shard i/n (the customer
buckets b mod n = i) and merge publishes the list from the score shards; the work directory
may be s3://bucket/prefix or gs://bucket/prefix (docs/SCALING.md).

Every flag can also come from a YAML file (--config, keys are flag names) or from
CHURN_<FLAG> environment variables; precedence: flag > environment > config > default.

Exit codes: 0 ok, 1 failure, 2 usage or config error, 3 bad input data (nothing written),
4 a publishing guard stopped the run (lists/LATEST kept), 5 another churn process holds
the work directory's lock.`

type options struct {
	workdir, config, logFormat string
	shard                      string
	localOnly                  bool                  // resolve settings only: do not fetch an object-storage work directory
	keep                       func(key string) bool // the files of an object-storage work directory the command reads; nil: all (a shard's: its own)
	horizon, cancelWindow      string
	workers                    int
	lambda, discount           float64
	clvHorizon                 string
	riskHigh, riskMedium       float64
	promoteMargin              float64
	maxModelAge                string
	churnModels                []string
	maxTrainRows, maxValidRows int
	trainSnapshots             int
	snapshotStep               string
	churnDefinition            string
	lang                       string
	timezone                   string
	tiers, tierWindow          string
	satisfactionWeights        string
	actionRules                string
	contactCost, saveRate      float64
	budget                     float64
	top                        int
	controlShare               float64
	guards                     pipeline.Guards
	keepDays                   string
	force                      bool
	memoryLimit                string
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "churn",
		Short:         "Predict which customers are about to leave and what they are worth",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	var cpuProfile, memProfile string
	var stopCPU func()
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the command to this file")
	root.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a heap profile (pprof) at the end of the command to this file")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		var err error
		stopCPU, err = startCPUProfile(cpuProfile)
		return err
	}
	root.PersistentPostRunE = func(c *cobra.Command, _ []string) error {
		stopCPU()
		if err := pushWorkdir(c.Context()); err != nil {
			return err
		}
		return writeHeapProfile(memProfile)
	}
	root.AddCommand(newGenerate(), newIngest(), newFeatures(), newTrain(), newScore(), newMerge(), newExport(), newKPIs(), newRun(), newCLV(), newModels(), newActions(), newUplift(), newStatus(), newRuns(), newConfig())
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// stageFlags adds the flags shared by the pipeline commands.
func stageFlags(c *cobra.Command, o *options, model bool) {
	f := c.Flags()
	f.StringVar(&o.workdir, "workdir", "", "work directory holding warehouse/, features/, models/, lists/: a folder, or object storage as s3://bucket/prefix?region=… or gs://bucket/prefix, worked on through a local copy in $CHURN_CACHE_DIR (required)")
	f.StringVar(&o.config, "config", "", "YAML config file; keys are flag names")
	f.StringVar(&o.logFormat, "log-format", "auto", "log format: auto (progress on a terminal, JSON otherwise), text or json")
	f.StringVar(&o.horizon, "horizon", "90d", "churn horizon: churned = no order within it (e.g. 90d, 12w)")
	f.IntVar(&o.workers, "workers", 0, "goroutines for buckets and for rows at scoring (0 = number of CPUs; model fitting uses every CPU)")
	f.StringVar(&o.cancelWindow, "cancel-window", "30d", `an order whose refunds within this window net it to zero is cancelled, not a purchase ("none" to count every order)`)
	f.BoolVar(&o.force, "force", false, "redo every stage even when its inputs are unchanged (by default a rerun reuses snapshots, models and lists made from the same inputs)")
	f.StringVar(&o.timezone, "timezone", "UTC", "the shop's time zone, e.g. Asia/Shanghai: of timestamps without an offset and plain dates at ingest, and of the weekday and hour habits in the features")
	f.StringVar(&o.tiers, "tiers", pipeline.DefaultTiersText, "loyalty-programme tiers name=spend/orders,... lowest first: a tier needs both its net spend (currency units) and its orders within --tier-window")
	f.StringVar(&o.tierWindow, "tier-window", "365d", "rolling window of the loyalty tiers")
	f.StringVar(&o.memoryLimit, "memory-limit", "auto", "soft memory limit of the process, e.g. 2GiB or 1500MiB: near it the garbage collector works harder instead of letting the heap grow (auto: GOMEMLIMIT when set, else 90% of the container's cgroup limit, else 90% of the machine's memory; off: none)")
	f.StringVar(&o.satisfactionWeights, "satisfaction-weights", "", "weights of the satisfaction index items, e.g. nps=2,csat=1,ces=1 (default: equal; an item left out weighs 0)")
	if model {
		f.Float64Var(&o.lambda, "lambda", 1e-3, "L2 penalty of the logistic regression")
		f.StringVar(&o.clvHorizon, "clv-horizon", "365d", "horizon of expected orders and predicted CLV")
		f.Float64Var(&o.discount, "discount-rate", 0.10, "annual discount rate of CLV cash flows")
		f.Float64Var(&o.riskHigh, "risk-high", 0.6, "churn probability from which the risk tier is high")
		f.Float64Var(&o.riskMedium, "risk-medium", 0.3, "churn probability from which the risk tier is medium")
		f.StringVar(&o.lang, "lang", "en", "language of reasons and suggested actions: en, zh or both (中文 | English)")
		f.StringSliceVar(&o.churnModels, "models", []string{"logit", "gbdt", "btyd"}, "churn candidates to compare: "+strings.Join(pipeline.ChurnModelNames, ", ")+" (golearn: the slow baseline challenger)")
		f.IntVar(&o.maxTrainRows, "max-train-rows", pipeline.DefaultMaxTrainRows, "train on at most this many stacked snapshot rows, a sample stable by customer and snapshot (0: every row)")
		f.IntVar(&o.trainSnapshots, "train-snapshots", pipeline.DefaultTrainSnapshots, "training snapshots stacked, every --snapshot-step back from the as-of day minus two horizons, history permitting (1–60; fewer train faster on less history)")
		f.StringVar(&o.snapshotStep, "snapshot-step", "30d", "days between the training snapshots (1–365 days)")
		f.IntVar(&o.maxValidRows, "max-validation-rows", pipeline.DefaultMaxValidRows, "validate (and refit) on at most this many rows of the validation snapshot, a sample stable by customer (0: every row)")
		f.StringVar(&o.churnDefinition, "churn-definition", pipeline.ChurnAuto, "what churn means: orders (no order within --horizon), cancel (a subscribe/cancel contract is cancelled within --horizon; customers already cancelled are scored as churned) or auto (cancel when the feedback input has subscribe or cancel events)")
		f.Float64Var(&o.promoteMargin, "promote-margin", 0, "a new churn model replaces the champion only if its out-of-time ROC AUC beats the champion's on the same validation by this much")
		f.StringVar(&o.maxModelAge, "max-model-age", "30d", "a champion older than this is replaced by the new model regardless")
		f.Float64Var(&o.contactCost, "contact-cost", 1, "cost of contacting one customer in a retention campaign (currency units)")
		f.Float64Var(&o.saveRate, "save-rate", 0.15, "expected share of contacted customers' value at risk the campaign saves")
		f.Float64Var(&o.budget, "budget", 0, "campaign budget: contacts × contact cost stay within it (0: no budget)")
		f.IntVar(&o.top, "top", 0, "contact at most this many customers (0: no cap)")
		f.Float64Var(&o.controlShare, "control-share", pipeline.DefaultControlShare, "share of customers held out as a control group (stable by customer id and --seed; 0: none)")
		f.StringVar(&o.keepDays, "keep-days", "0", "churn run removes lists and runs more than this many days older than its as-of day, never the live list (0: keep everything)")
		d := pipeline.DefaultGuards
		f.StringVar(&o.guards.Volume, "guard-volume", d.Volume, "orders in the last 30 days outside guard-volume-min…max × the monthly mean of the 60 before: off, warn or stop (exit 4, lists/LATEST kept)")
		f.StringVar(&o.guards.Drift, "guard-drift", d.Drift, "a model feature's PSI against the champion's validation snapshot above guard-drift-psi: off, warn or stop")
		f.StringVar(&o.guards.Scores, "guard-scores", d.Scores, "the churn probabilities' PSI against the live list above guard-score-psi: off, warn or stop")
		f.StringVar(&o.guards.Staleness, "guard-staleness", d.Staleness, "the churn model's data older than --max-model-age: off, warn or stop")
		f.Float64Var(&o.guards.VolumeMin, "guard-volume-min", d.VolumeMin, "lowest allowed volume ratio")
		f.Float64Var(&o.guards.VolumeMax, "guard-volume-max", d.VolumeMax, "highest allowed volume ratio")
		f.Float64Var(&o.guards.DriftPSI, "guard-drift-psi", d.DriftPSI, "population stability index above which a feature drifted")
		f.Float64Var(&o.guards.ScorePSI, "guard-score-psi", d.ScorePSI, "population stability index above which the scores shifted")
		f.StringVar(&o.actionRules, "action-rules", "", "YAML file of suggested-action rules (default: the built-in ones; churn actions prints them to start from)")
	}
}

// shardFlag adds --shard to a stage that can do one shard of its work.
func shardFlag(c *cobra.Command, o *options, what string) {
	c.Flags().StringVar(&o.shard, "shard", "", what)
}

// pipelineConfig resolves config sources and returns the pipeline config.
func pipelineConfig(c *cobra.Command, o *options) (pipeline.Config, error) {
	if err := applyConfig(c); err != nil {
		return pipeline.Config{}, err
	}
	if o.workdir == "" {
		return pipeline.Config{}, usagef("--workdir is required (or CHURN_WORKDIR, or workdir: in the config file)")
	}
	h, err := parseDays(o.horizon)
	if err != nil {
		return pipeline.Config{}, usagef("--horizon %v", err)
	}
	if _, err := applyMemoryLimit(o.memoryLimit); err != nil {
		return pipeline.Config{}, err
	}
	var shard pipeline.Shard
	if o.shard != "" {
		if shard, err = pipeline.ParseShard(o.shard); err != nil {
			return pipeline.Config{}, usagef("--shard: %v", err)
		}
	}
	workdir := o.workdir
	if !o.localOnly {
		if workdir, err = openWorkdir(c.Context(), o.workdir, shard, o.keep); err != nil {
			return pipeline.Config{}, err
		}
	}
	cfg := pipeline.Config{Shard: shard, Workdir: workdir, Workers: o.workers, Horizon: h, Lambda: o.lambda,
		DiscountRate: o.discount, RiskHigh: o.riskHigh, RiskMedium: o.riskMedium}
	if o.discount == 0 && c.Flags().Lookup("discount-rate") != nil {
		cfg.DiscountRate = 1e-12 // an explicit 0 means no discounting, not the default
	}
	cfg.PromoteMargin, cfg.ChurnModels, cfg.Lang, cfg.ChurnDefinition = o.promoteMargin, o.churnModels, o.lang, o.churnDefinition
	cfg.MaxTrainRows = o.maxTrainRows
	if o.maxTrainRows == 0 && c.Flags().Lookup("max-train-rows") != nil {
		cfg.MaxTrainRows = -1 // every row
	}
	if c.Flags().Lookup("train-snapshots") != nil {
		if o.trainSnapshots < 1 || o.trainSnapshots > 60 {
			return cfg, usagef("--train-snapshots must be 1..60, got %d", o.trainSnapshots)
		}
		cfg.TrainSnapshots = o.trainSnapshots
		if cfg.SnapshotStep, err = parseDays(o.snapshotStep); err != nil || cfg.SnapshotStep < 1 || cfg.SnapshotStep > 365 {
			return cfg, usagef("--snapshot-step %q: want 1 to 365 days, e.g. 30d or 4w", o.snapshotStep)
		}
	}
	cfg.MaxValidRows = o.maxValidRows
	if o.maxValidRows == 0 && c.Flags().Lookup("max-validation-rows") != nil {
		cfg.MaxValidRows = -1 // every row
	}
	if o.maxModelAge != "" {
		if cfg.MaxModelAge, err = parseDays(o.maxModelAge); err != nil {
			return cfg, usagef("--max-model-age %v", err)
		}
	}
	switch o.cancelWindow {
	case "none", "off":
		cfg.CancelWindow = -1
	case "":
	default:
		if cfg.CancelWindow, err = parseDays(o.cancelWindow); err != nil {
			return cfg, usagef("--cancel-window %v", err)
		}
	}
	cfg.Timezone = o.timezone
	cfg.Force = o.force
	cfg.Guards = o.guards
	if o.keepDays != "" && o.keepDays != "0" {
		if cfg.KeepDays, err = parseDays(o.keepDays); err != nil {
			return cfg, usagef("--keep-days %v", err)
		}
	}
	cfg.ContactCost, cfg.SaveRate, cfg.Budget, cfg.Top, cfg.ControlShare = o.contactCost, o.saveRate, o.budget, o.top, o.controlShare
	if c.Flags().Lookup("control-share") != nil && o.controlShare == 0 {
		cfg.ControlShare = -1 // an explicit 0: no control group
	}
	if c.Flags().Lookup("contact-cost") != nil && o.contactCost == 0 {
		cfg.ContactCost = 1e-12 // an explicit 0: free contacts, not the default
	}
	if o.tiers != "" {
		if cfg.Tiers, err = pipeline.ParseTiers(o.tiers); err != nil {
			return cfg, usagef("--tiers: %v", err)
		}
	}
	if o.tierWindow != "" {
		if cfg.TierWindow, err = parseDays(o.tierWindow); err != nil {
			return cfg, usagef("--tier-window %v", err)
		}
	}
	if o.satisfactionWeights != "" {
		if cfg.SatisfactionWeights, err = parseWeights(o.satisfactionWeights); err != nil {
			return cfg, usagef("--satisfaction-weights: %v", err)
		}
	}
	if o.actionRules != "" {
		tiers := cfg.Tiers
		if tiers == nil {
			tiers, _ = pipeline.ParseTiers(pipeline.DefaultTiersText)
		}
		if cfg.ActionRules, err = pipeline.LoadActionRules(o.actionRules, tiers); err != nil {
			return cfg, usageError{err}
		}
	}
	if o.clvHorizon != "" {
		if cfg.CLVHorizon, err = parseDays(o.clvHorizon); err != nil {
			return cfg, usagef("--clv-horizon %v", err)
		}
	}
	log, progress, err := logger(o.logFormat)
	if err != nil {
		return cfg, err
	}
	cfg.Log, cfg.Progress = log, progress
	cfg.RunID = time.Now().UTC().Format("20060102T150405Z")
	if err := cfg.WithDefaults().Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// logger returns the slog logger and progress callback for a log format.
func logger(format string) (*slog.Logger, func(string, int, int), error) {
	switch format {
	case "auto":
		if isTerminal(os.Stderr) {
			return slog.New(&terminalHandler{w: os.Stderr}), terminalProgress, nil
		}
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), nil, nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), nil, nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, nil)), nil, nil
	}
	return nil, nil, usagef("--log-format %q: want auto, text or json", format)
}

func terminalProgress(stage string, done, total int) {
	fmt.Fprintf(os.Stderr, "\r  %-9s %d/%d buckets\033[K", stage, done, total)
}

// terminalHandler prints one readable line per log record.
type terminalHandler struct {
	w     io.Writer
	attrs []slog.Attr
}

func (h *terminalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *terminalHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("\r\033[K")
	stage := ""
	var rest []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "stage":
			stage = a.Value.String()
		case "run_id":
		default:
			rest = append(rest, a.Key+"="+a.Value.String())
		}
		return true
	})
	if stage != "" {
		fmt.Fprintf(&b, "✓ %-9s %s\n", stage, strings.Join(rest, "  "))
	} else {
		fmt.Fprintf(&b, "%s %s %s\n", r.Level, r.Message, strings.Join(rest, "  "))
	}
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *terminalHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &terminalHandler{w: h.w, attrs: append(h.attrs, a...)}
}
func (h *terminalHandler) WithGroup(string) slog.Handler { return h }

func parseDateFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, usagef("--%s is required (YYYY-MM-DD)", name)
	}
	t, err := pipeline.ParseDate(v)
	if err != nil {
		return t, usagef("--%s: %v", name, err)
	}
	return t, nil
}

// printTop writes the head of a list as an aligned table.
func printTop(w io.Writer, rows []datasets.ScoreRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tcustomer_id\tchurn_p\ttier\tp_alive\tclv\tvalue_at_risk\tsegment\tsuggested_action")
	for _, r := range rows {
		action, _, _ := strings.Cut(r.SuggestedAction, ":")
		action, _, _ = strings.Cut(action, "：")
		fmt.Fprintf(tw, "%d\t%s\t%.3f\t%s\t%.3f\t%.2f\t%.2f\t%s\t%s\n", r.Rank, r.CustomerID, r.ChurnProbability,
			r.RiskTier, r.PAlive, r.PredictedCLV, r.ValueAtRisk, r.Segment, action)
	}
	tw.Flush()
}

// parseWeights reads kind=weight,... (satisfaction index weights).
func parseWeights(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("%q: want kind=weight, e.g. nps=2", part)
		}
		out[strings.ToLower(strings.TrimSpace(k))] = w
	}
	return out, nil
}

func newActions() *cobra.Command {
	return &cobra.Command{
		Use:   "actions",
		Short: "Print the built-in suggested-action rules (a YAML file to copy and edit)",
		Long: `Prints the built-in rules that choose each customer's suggested action. Save
them (churn actions > rules.yaml), edit them, and pass the file to score or run
with --action-rules rules.yaml. The first rule whose conditions all hold wins;
the last rule must have no conditions.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := c.OutOrStdout().Write(pipeline.DefaultActionRules)
			return err
		},
	}
}
