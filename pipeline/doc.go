// Package pipeline runs the stages of churn over a work directory: ingest
// (CSV → warehouse), features (warehouse → feature snapshots), train (churn
// classifier + CLV models), score (retention list, scores, report) and export.
// It owns the orchestration and logs one structured line per stage
// (stage, run_id, rows, duration) through the *slog.Logger it is given.
//
// Dates are calendar days in UTC written YYYY-MM-DD. Every output folder is
// committed atomically with a manifest written last (datasets.CommitFolder);
// the same inputs, config and seed give byte-identical outputs.
package pipeline
