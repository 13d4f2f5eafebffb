package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// RunResult is what a whole run did.
type RunResult struct {
	RunID    string        // runs/<RunID>/run.json
	Ingest   *IngestResult // nil when no input was given
	Features FeaturesResult
	Train    TrainResult
	Score    ScoreResult
}

// Run is the nightly chain: ingest (when in names any input), the
// feature snapshot at asOf, training with data up to asOf, and scoring;
// then lists/LATEST points at the new list. It holds the work directory's
// lock throughout (one run at a time) and keeps runs/<run-id>/run.json up
// to date: config, versions, input fingerprints, and each stage's status,
// rows and time.
func Run(ctx context.Context, cfg Config, asOf time.Time, in IngestInput) (res RunResult, err error) {
	cfg = cfg.WithDefaults()
	cfg.books = &bookCache{} // the features stage fills the KPI book the list needs
	cfg.built = &builtSnapshots{}
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	unlock, err := datasets.LockWorkdir(cfg.Workdir)
	if err != nil {
		return res, err
	}
	defer unlock()
	cfg.holdsLock = true
	if cleaned, err := datasets.CleanStale(cfg.Workdir); err != nil {
		return res, err
	} else if len(cleaned) > 0 {
		cfg.Log.Info("removed what an interrupted run left", "run_id", cfg.RunID, "paths", cleaned)
	}
	start := time.Now()
	tr, err := startRun(cfg, asOf)
	if err != nil {
		return res, err
	}
	res.RunID = tr.m.ID
	defer func() {
		if ferr := tr.finish(err); err == nil {
			err = ferr
		}
	}()
	if in.Transactions != "" || in.Customers != "" || in.Feedback != "" {
		err = tr.stage("ingest", func() (int64, string, error) {
			ir, err := Ingest(ctx, cfg, in)
			if err != nil {
				return 0, "", err
			}
			res.Ingest = &ir
			for _, f := range ir.Files {
				tr.m.Inputs = append(tr.m.Inputs, InputFile{Path: f.File, Bytes: f.Bytes, SHA256: f.SHA256})
			}
			for _, f := range ir.Skipped {
				tr.m.Inputs = append(tr.m.Inputs, InputFile{Path: f, Skipped: true})
			}
			return ir.Loaded, fmt.Sprintf("%d read, %d quarantined, %d duplicates", ir.Read, ir.Quarantined, ir.Duplicates), nil
		})
		if err != nil {
			return res, err
		}
	}
	if err = tr.stage("features", func() (int64, string, error) {
		var err error
		res.Features, err = runSnapshots(ctx, cfg, asOf)
		detail := "built"
		if res.Features.Reused {
			detail = "reused: inputs unchanged"
		}
		return res.Features.Customers, detail, err
	}); err != nil {
		return res, err
	}
	if err = tr.stage("train", func() (int64, string, error) {
		var err error
		res.Train, err = Train(ctx, cfg, asOf)
		tr.m.Versions.ChurnModel, tr.m.Versions.CLVModel = res.Train.ChurnVersion, res.Train.CLVVersion
		detail := res.Train.Promotion.Reason
		if res.Train.Reused {
			detail = "reused: inputs unchanged"
		}
		return int64(res.Train.Validation.N), detail, err
	}); err != nil {
		return res, err
	}
	if err = tr.stage("score", func() (int64, string, error) {
		var err error
		res.Score, err = Score(ctx, cfg, asOf)
		tr.m.List = res.Score.Dir
		detail := ""
		if res.Score.Reused {
			detail = "reused: inputs unchanged"
		}
		return int64(res.Score.Customers), detail, err
	}); err != nil {
		return res, err
	}
	prev := Latest(cfg.Workdir)
	if err = tr.stage("guards", func() (int64, string, error) {
		rs, err := checkGuards(ctx, cfg, asOf, prev)
		if err != nil {
			return 0, "", err
		}
		tr.m.Guards = rs
		detail, err := guardVerdict(cfg, rs, prev)
		return int64(len(rs)), detail, err
	}); err != nil {
		return res, err
	}
	if err = tr.stage("publish", func() (int64, string, error) {
		return 0, "lists/LATEST = " + dateString(asOf), publishLatest(cfg.Workdir, asOf)
	}); err != nil {
		return res, err
	}
	if cfg.KeepDays > 0 {
		if err = tr.stage("prune", func() (int64, string, error) {
			n, err := prune(cfg, asOf, tr.m.ID)
			return int64(n), fmt.Sprintf("lists and runs older than %d days", cfg.KeepDays), err
		}); err != nil {
			return res, err
		}
	}
	cfg.logStage("run", int64(res.Score.Customers), start, "as_of", dateString(asOf), "list", res.Score.ListCSV, "run", res.RunID)
	return res, nil
}

// guardVerdict logs the tripped guards of rs and returns ErrGuard (wrapped,
// naming every stop) when one in stop mode tripped; prev is the list
// lists/LATEST names.
func guardVerdict(cfg Config, rs []GuardResult, prev string) (string, error) {
	var stops, warns []string
	for _, r := range rs {
		switch {
		case !r.Tripped:
		case r.Mode == GuardStop:
			stops = append(stops, r.Guard+": "+r.Detail)
		default:
			warns = append(warns, r.Guard)
			cfg.Log.Warn("guard tripped", "stage", "guards", "run_id", cfg.RunID, "guard", r.Guard, "detail", r.Detail)
		}
	}
	if len(stops) > 0 {
		return "", fmt.Errorf("%w (lists/LATEST still names %s): %s", ErrGuard, cmp.Or(prev, "no list"), strings.Join(stops, "; "))
	}
	if len(warns) > 0 {
		return "warnings: " + strings.Join(warns, ", "), nil
	}
	return "all passed", nil
}

// Publish does for the committed list of asOf what a run does after
// scoring: it checks the publishing guards and, unless one in stop mode
// tripped (ErrGuard), points lists/LATEST at the list. For lists made by
// shards (Merge), whose nightly has no single run.
func Publish(ctx context.Context, cfg Config, asOf time.Time) ([]GuardResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !datasets.Committed(datasets.ListDir(cfg.Workdir, dateString(asOf))) {
		return nil, fmt.Errorf("pipeline: no list of %s to publish", dateString(asOf))
	}
	prev := Latest(cfg.Workdir)
	rs, err := checkGuards(ctx, cfg, asOf, prev)
	if err != nil {
		return nil, err
	}
	if _, err := guardVerdict(cfg, rs, prev); err != nil {
		return rs, err
	}
	return rs, publishLatest(cfg.Workdir, asOf)
}

// runSnapshots builds Run's feature snapshot at asOf. When the training
// that follows will fit models (its inputs changed, or --force), every
// snapshot it reads is built in the same pass over the warehouse as the
// one at asOf (which is among them), instead of a pass for asOf and
// another for the rest. Should that pass fail (too little history for a
// training cutoff, say), the snapshot at asOf is built alone and the
// training meets the failure with its own message.
func runSnapshots(ctx context.Context, cfg Config, asOf time.Time) (FeaturesResult, error) {
	if cuts := runCutoffs(cfg, asOf); len(cuts) > 1 {
		// The collector as train ran this pass before (lowerGCPercent).
		restore := lowerGCPercent()
		all, err := snapshots(ctx, cfg, cuts, asOf)
		restore()
		if err == nil {
			return all[slices.IndexFunc(cuts, asOf.Equal)], nil
		}
		if ctx.Err() != nil {
			return FeaturesResult{}, err
		}
		cfg.Log.Debug("snapshots for training not built with the one at as-of", "stage", "features", "run_id", cfg.RunID, "error", err)
	}
	return Features(ctx, cfg, asOf)
}

// builtSnapshots is the set of snapshot folders built in one run.
type builtSnapshots struct {
	mu   sync.Mutex
	dirs map[string]bool
}

func (s *builtSnapshots) add(dir string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs == nil {
		s.dirs = map[string]bool{}
	}
	s.dirs[dir] = true
}

func (s *builtSnapshots) has(dir string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirs[dir]
}

// runCutoffs returns the cutoffs of the snapshots Run's features stage
// builds: every one the training reads (asOf among them) when the
// training will fit models, else asOf alone.
func runCutoffs(cfg Config, asOf time.Time) []time.Time {
	only := []time.Time{asOf}
	if cfg.Shard.Sharded() {
		return only
	}
	key, err := trainKey(cfg, asOf)
	if err != nil {
		return only
	}
	if _, ok := reusableTrain(cfg, key); ok && !cfg.Force {
		return only
	}
	first, err := firstDay(cfg.Workdir)
	if err != nil {
		return only
	}
	cuts := trainCutoffs(cfg, asOf, first)
	if !slices.ContainsFunc(cuts, asOf.Equal) {
		return only
	}
	return cuts
}
