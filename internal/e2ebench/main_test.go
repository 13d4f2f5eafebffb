package main

import (
	"testing"
	"time"
)

// The features row sums every snapshot pass: each logs cumulative times.
func TestPasses(t *testing.T) {
	logs := []stageLog{
		{Stage: "ingest", Duration: "9s"},
		{Stage: "features", Duration: "4.5s"}, // a pass of one snapshot
		{Stage: "features", Duration: "2s"},   // a second pass, of three
		{Stage: "train snapshots", Duration: "30s"},
		{Stage: "features", Duration: "11s"},
		{Stage: "features", Duration: "12.5s"},
	}
	for _, c := range []struct {
		logs  []stageLog
		total time.Duration
		n     int
	}{
		{logs, 4500*time.Millisecond + 12500*time.Millisecond, 2},
		{logs[3:], 12500 * time.Millisecond, 1},
		{logs[:1], 0, 0},
	} {
		if total, n := passes(c.logs, "features"); total != c.total || n != c.n {
			t.Errorf("passes = %v, %d; want %v, %d", total, n, c.total, c.n)
		}
	}
}
