package pipeline

import (
	"context"
	"time"
)

// RunResult is what a whole run did.
type RunResult struct {
	Ingest   *IngestResult // nil when no input was given
	Features FeaturesResult
	Train    TrainResult
	Score    ScoreResult
}

// Run is the nightly chain: ingest (when in names any input), the
// feature snapshot at asOf, training with data up to asOf, and scoring.
func Run(ctx context.Context, cfg Config, asOf time.Time, in IngestInput) (RunResult, error) {
	cfg = cfg.WithDefaults()
	var res RunResult
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	start := time.Now()
	if in.Transactions != "" || in.Customers != "" || in.Feedback != "" {
		ir, err := Ingest(ctx, cfg, in)
		if err != nil {
			return res, err
		}
		res.Ingest = &ir
	}
	var err error
	if res.Features, err = Features(ctx, cfg, asOf); err != nil {
		return res, err
	}
	if res.Train, err = Train(ctx, cfg, asOf); err != nil {
		return res, err
	}
	if res.Score, err = Score(ctx, cfg, asOf); err != nil {
		return res, err
	}
	cfg.logStage("run", int64(res.Score.Customers), start, "as_of", dateString(asOf), "list", res.Score.ListCSV)
	return res, nil
}
