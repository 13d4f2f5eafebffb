package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// ExportFormats are the formats Export writes.
var ExportFormats = []string{"csv"}

// Export writes the published list of asOf in format to w. It reads
// scores.parquet of a committed list folder, so it only ever sees complete lists.
func Export(ctx context.Context, cfg Config, asOf time.Time, format string, w io.Writer) (int, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	if format != "csv" {
		return 0, fmt.Errorf("pipeline: export format %q: supported: %v", format, ExportFormats)
	}
	dir := datasets.ListDir(cfg.Workdir, dateString(asOf))
	if !datasets.Committed(dir) {
		return 0, fmt.Errorf("pipeline: no published list for %s in %s (run churn score --as-of %s)", dateString(asOf), cfg.Workdir, dateString(asOf))
	}
	rows, err := datasets.ReadScoresParquet(filepath.Join(dir, datasets.ScoresParquet))
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	if err := datasets.WriteScoresCSV(&buf, rows); err != nil {
		return 0, err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return 0, fmt.Errorf("pipeline: export: %w", err)
	}
	return len(rows), nil
}
