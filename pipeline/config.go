package pipeline

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/churn-dev/churn/features"
)

// Config is shared by all stages. The zero value of every field except
// Workdir means its documented default.
type Config struct {
	Workdir string // required: root of warehouse/, features/, models/, lists/
	Buckets int    // customer buckets at ingest; 0: automatic (datasets.AutoBuckets)
	Workers int    // goroutines for buckets and rows (the models use GOMAXPROCS); default GOMAXPROCS
	Horizon int    // churn horizon in days: churned = no order within it; default 90
	// CLVHorizon is the horizon of expected orders and predicted CLV, in days; default 365.
	CLVHorizon int
	// DiscountRate is the annual discount rate of CLV cash flows; default 0.10.
	// Negative values are rejected; use a tiny positive value for "none".
	DiscountRate float64
	Lambda       float64 // L2 penalty of the logistic regression; default 1e-3
	// TrainSnapshots is how many monthly (SnapshotStep) training snapshots
	// train stacks, history permitting; default 4. SnapshotStep defaults to 30 days.
	TrainSnapshots, SnapshotStep int
	// MaxTrainRows caps the stacked training rows: above it, train keeps a
	// sample drawn by a hash of customer and snapshot (the same on every
	// run); default DefaultMaxTrainRows, -1 for every row.
	MaxTrainRows int
	// MaxValidRows caps the validation rows (the snapshot at cutoff −
	// horizon, which judges the candidates and joins the final fit): above
	// it, train keeps a sample drawn by a hash of the customer (the same on
	// every run); default DefaultMaxValidRows, -1 for every row.
	MaxValidRows int
	// Lang is the language of reasons and actions: en (default), zh or both.
	Lang string
	// ChurnModels are the churn candidates train compares, out of
	// ChurnModelNames; default logit, gbdt and btyd (golearn only on request).
	ChurnModels []string
	// ChurnDefinition is what churn means for the models: "orders" (no
	// order within Horizon; non-contractual), "cancel" (a cancel event
	// within Horizon; contractual, customers cancelled at the cutoff are
	// left out of training and scored as churned) or "auto" (default:
	// cancel when the validation snapshot has subscribe or cancel events).
	ChurnDefinition string
	// Seed drives the GBDT's row and feature subsamples; default 1.
	Seed uint64
	// PromoteMargin is how much a new churn model's validation ROC AUC must
	// beat the champion's on the same rows to replace it (default 0; may be
	// negative). MaxModelAge (days, default 30) replaces an older champion
	// regardless.
	PromoteMargin float64
	MaxModelAge   int
	// CancelWindow: an order whose refunds within this many days net it to
	// zero or less is cancelled, not a purchase; default 30, -1 disables.
	CancelWindow int
	// Timezone is the shop's IANA time zone for the weekday and hour
	// habits of the features; default UTC.
	Timezone string
	// SatisfactionWeights weighs nps, csat and ces in the satisfaction
	// index; nil: equal.
	SatisfactionWeights map[string]float64
	// Tiers are the loyalty-programme tiers (default features.DefaultTiers)
	// over TierWindow days (default 365).
	Tiers      []features.Tier
	TierWindow int
	// Campaign sizing: contact the prefix of the list that maximises
	// SaveRate × value at risk − ContactCost summed, within Budget (0: none)
	// and Top customers (0: none). Defaults: cost 1, save rate 0.15 — no
	// study behind them: placeholders each shop sets from its own campaigns
	// (churn uplift measures the save rate).
	ContactCost, SaveRate, Budget float64
	Top                           int
	// ControlShare of the customers (default 0.10; a negative value: none)
	// is a control group campaigns must not contact, by a stable hash of
	// Seed and the customer id.
	ControlShare float64
	// Force redoes every stage: snapshots are rebuilt, models retrained and
	// lists rescored even when their inputs are unchanged.
	Force bool
	// KeepDays: a run removes lists and runs whose as-of day is more than
	// this many days before its own (0: keep everything); the live list is
	// always kept.
	KeepDays int
	// Guards are the checks before a run publishes its list.
	Guards Guards
	// ActionRules pick the suggested actions; nil: the built-in
	// default_actions.yaml.
	ActionRules *ActionRules
	// RiskHigh and RiskMedium are churn-probability bands of the risk tiers;
	// defaults 0.6 and 0.3.
	RiskHigh, RiskMedium float64

	Log      *slog.Logger                        `json:"-"` // nil: discard
	Progress func(stage string, done, total int) `json:"-"` // optional per-bucket progress
	RunID    string                              // appears in logs only
	// Shard, when set, makes score (and the stages that support it) do
	// only the buckets of one shard, for Merge to join.
	Shard Shard `json:",omitzero"`
	// holdsLock: the caller (Run) holds the work directory's lock already.
	holdsLock bool
	// noBuild: snapshots fail with errNotBuilt instead of building.
	noBuild bool
	// books, when set, keeps the KPI books the snapshot builds fill for
	// the list (Run, Score).
	books *bookCache
	// built, when set, holds the snapshots built so far in this run (Run):
	// --force builds each of them once, not again for every stage.
	built *builtSnapshots
}

// Churn definitions (Config.ChurnDefinition).
const (
	ChurnAuto   = "auto"
	ChurnOrders = "orders" // non-contractual: no order within the horizon
	ChurnCancel = "cancel" // contractual: a cancel event within the horizon
)

// ChurnModelNames are the churn candidates train knows.
var ChurnModelNames = []string{"logit", "gbdt", "btyd", "golearn"}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Horizon == 0 {
		c.Horizon = features.DefaultHorizon
	}
	if c.CLVHorizon == 0 {
		c.CLVHorizon = 365
	}
	if c.DiscountRate == 0 {
		c.DiscountRate = 0.10
	}
	if c.Lambda == 0 {
		c.Lambda = 1e-3
	}
	if c.MaxTrainRows == 0 {
		c.MaxTrainRows = DefaultMaxTrainRows
	}
	if c.MaxValidRows == 0 {
		c.MaxValidRows = DefaultMaxValidRows
	}
	if c.TrainSnapshots == 0 {
		c.TrainSnapshots = DefaultTrainSnapshots
	}
	if c.SnapshotStep == 0 {
		c.SnapshotStep = 30
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Lang == "" {
		c.Lang = LangEN
	}
	if len(c.ChurnModels) == 0 {
		c.ChurnModels = []string{"logit", "gbdt", "btyd"}
	}
	if c.ChurnDefinition == "" {
		c.ChurnDefinition = ChurnAuto
	}
	if c.MaxModelAge == 0 {
		c.MaxModelAge = 30
	}
	if c.CancelWindow == 0 {
		c.CancelWindow = features.DefaultCancelWindow
	}
	if c.RiskHigh == 0 {
		c.RiskHigh = 0.6
	}
	if c.ContactCost == 0 {
		c.ContactCost = 1
	}
	if c.ControlShare == 0 {
		c.ControlShare = DefaultControlShare
	}
	if c.SaveRate == 0 {
		c.SaveRate = 0.15
	}
	c.Guards = c.Guards.withDefaults()
	if c.Timezone == "" {
		c.Timezone = "UTC"
	}
	if c.Tiers == nil {
		c.Tiers = features.DefaultTiers
	}
	if c.TierWindow == 0 {
		c.TierWindow = features.DefaultTierWindow
	}
	if c.RiskMedium == 0 {
		c.RiskMedium = 0.3
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate reports a configuration error (after defaults).
func (c Config) Validate() error {
	switch {
	case c.Workdir == "":
		return fmt.Errorf("pipeline: --workdir is required")
	case c.Buckets < 0 || c.Buckets > 4096:
		return fmt.Errorf("pipeline: buckets must be 0 (automatic) or 1..4096, got %d", c.Buckets)
	case c.Workers < 1:
		return fmt.Errorf("pipeline: workers must be ≥ 1, got %d", c.Workers)
	case c.Shard.validate() != nil:
		return fmt.Errorf("pipeline: %w", c.Shard.validate())
	case c.Horizon < 1 || c.Horizon > 3650:
		return fmt.Errorf("pipeline: horizon must be 1..3650 days, got %d", c.Horizon)
	case c.CLVHorizon < 1 || c.CLVHorizon > 3650:
		return fmt.Errorf("pipeline: clv horizon must be 1..3650 days, got %d", c.CLVHorizon)
	case c.DiscountRate < 0 || c.DiscountRate > 1:
		return fmt.Errorf("pipeline: discount rate must be in [0, 1], got %v", c.DiscountRate)
	case c.CancelWindow < -1 || c.CancelWindow > 3650:
		return fmt.Errorf("pipeline: cancel window must be 0..3650 days (or -1 for none), got %d", c.CancelWindow)
	case c.MaxTrainRows < -1 || c.MaxTrainRows > 0 && c.MaxTrainRows < 1000:
		return fmt.Errorf("pipeline: max train rows must be at least 1000 (or -1 for every row), got %d", c.MaxTrainRows)
	case c.MaxValidRows < -1 || c.MaxValidRows > 0 && c.MaxValidRows < 1000:
		return fmt.Errorf("pipeline: max validation rows must be at least 1000 (or -1 for every row), got %d", c.MaxValidRows)
	case c.TrainSnapshots < 1 || c.TrainSnapshots > 60 || c.SnapshotStep < 1 || c.SnapshotStep > 365:
		return fmt.Errorf("pipeline: train snapshots must be 1..60 and the step 1..365 days, got %d and %d", c.TrainSnapshots, c.SnapshotStep)
	case c.Lang != LangEN && c.Lang != LangZH && c.Lang != LangBoth:
		return fmt.Errorf("pipeline: lang %q: want en, zh or both", c.Lang)
	case slices.ContainsFunc(c.ChurnModels, func(m string) bool { return !slices.Contains(ChurnModelNames, m) }):
		return fmt.Errorf("pipeline: churn models %v: want some of %v", c.ChurnModels, ChurnModelNames)
	case !slices.Contains([]string{ChurnAuto, ChurnOrders, ChurnCancel}, c.ChurnDefinition):
		return fmt.Errorf("pipeline: churn definition %q: want auto, orders or cancel", c.ChurnDefinition)
	case c.Lambda < 0:
		return fmt.Errorf("pipeline: lambda must be ≥ 0, got %v", c.Lambda)
	case !(0 < c.RiskMedium && c.RiskMedium < c.RiskHigh && c.RiskHigh < 1):
		return fmt.Errorf("pipeline: want 0 < risk-medium < risk-high < 1, got %v and %v", c.RiskMedium, c.RiskHigh)
	}
	if c.ControlShare >= 1 {
		return fmt.Errorf("pipeline: control share must be below 1, got %v", c.ControlShare)
	}
	if c.ContactCost < 0 || c.SaveRate < 0 || c.SaveRate > 1 || c.Budget < 0 || c.Top < 0 {
		return fmt.Errorf("pipeline: want contact cost ≥ 0, save rate in [0, 1], budget ≥ 0 and top ≥ 0; got %v, %v, %v, %d", c.ContactCost, c.SaveRate, c.Budget, c.Top)
	}
	if c.KeepDays < 0 {
		return fmt.Errorf("pipeline: keep days must be ≥ 0, got %d", c.KeepDays)
	}
	if err := c.Guards.validate(); err != nil {
		return err
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		return fmt.Errorf("pipeline: timezone %q: %v", c.Timezone, err)
	}
	return c.featureConfig(time.Time{}, false).Validate()
}

// featureConfig is the features.Config of a snapshot at cutoff.
func (c Config) featureConfig(cutoff time.Time, labelled bool) features.Config {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		loc = time.UTC // Validate reports it
	}
	if cutoff.IsZero() {
		cutoff = time.Unix(0, 0) // for validation only
	}
	return features.Config{Cutoff: cutoff, Horizon: c.Horizon, Labelled: labelled, CancelWindow: c.CancelWindow,
		Location: loc, SatisfactionWeights: c.SatisfactionWeights, Tiers: c.Tiers, TierWindow: c.TierWindow}
}

func (c Config) progress(stage string, done, total int) {
	if c.Progress != nil {
		c.Progress(stage, done, total)
	}
}

func (c Config) logStage(stage string, rows int64, start time.Time, attrs ...any) {
	args := append([]any{"stage", stage, "run_id", c.RunID, "rows", rows, "duration", time.Since(start).Round(time.Millisecond).String()}, attrs...)
	c.Log.Info("stage done", args...)
}

// DefaultMaxTrainRows is the default cap on stacked training rows: about
// 300,000 customers' worth of five snapshots. Larger shops train on a
// sample of this size (fits grow linearly with rows; a million rows of
// 63 features hold the signal the models can use).
const DefaultMaxTrainRows = 1_000_000

// DefaultTrainSnapshots is how many training snapshots train stacks by
// default.
const DefaultTrainSnapshots = 4

// DefaultMaxValidRows is the default cap on validation rows: shops of up
// to about 1.2 million customers validate on every one. A million rows
// measure ROC AUC to about ±0.001 and keep the final fit's matrix (these
// rows and the training ones) near 1 GB whatever the shop.
const DefaultMaxValidRows = 1_000_000

// ParseDate parses a YYYY-MM-DD calendar day (UTC).
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("pipeline: date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

func dateString(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// dayOf returns the UTC calendar day of a µs timestamp.
func dayOf(us int64) time.Time {
	t := time.UnixMicro(us).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ParseTiers reads loyalty tiers written name=spend/orders,... (the --tiers flag).
func ParseTiers(s string) ([]features.Tier, error) { return features.ParseTiers(s) }

// DefaultTiersText is the default of --tiers.
var DefaultTiersText = features.FormatTiers(features.DefaultTiers)
