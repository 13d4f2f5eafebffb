package main

import (
	"fmt"
	"strings"
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

// The table gives each row's median and, over several runs, the range;
// train is its stage less the snapshots it logs inside it (the CLV fits run
// alongside its candidates).
func TestReportMedians(t *testing.T) {
	logs := func(ingest, train string) []stageLog {
		return []stageLog{
			{Msg: "stage done", Stage: "ingest", Rows: 1234567, Duration: ingest},
			{Stage: "features", Duration: "3s"}, {Stage: "features", Duration: "5s"},
			{Stage: "train snapshots", Duration: "1ms"}, {Stage: "clv", Duration: "2s"},
			{Stage: "train", Duration: train, AUC: 0.85}, {Stage: "score", Duration: "4s"},
		}
	}
	ms := []measure{
		measureOf(result{wall: 30 * time.Second, rssKB: 3 << 20}, logs("10s", "20s")),
		measureOf(result{wall: 25 * time.Second, rssKB: 1 << 20}, logs("12s", "22s")),
		measureOf(result{wall: 40 * time.Second, rssKB: 2 << 20}, logs("9s", "30s")),
	}
	if ms[0].train != 20*time.Second-time.Millisecond || ms[0].features != 5*time.Second || ms[0].rows != 1234567 {
		t.Fatalf("measure %+v", ms[0])
	}
	lean := measureOf(result{wall: 15 * time.Second, rssKB: 1 << 19}, logs("9s", "8s"))
	lean.auc = 0.84
	md := report(1000, 1, result{wall: time.Second}, ms, nil, "", nil, "--train-snapshots 1", &lean)
	for _, want := range []string{
		"ours: median (range) of 3 runs",
		"3 `churn run`s, each in a fresh work directory,",
		"1,234,567 rows",
		"| ingest CSV → Parquet (with customers, feedback) | 10.0 s (9.0–12.0) |",
		"| features: 2 snapshots in one pass | 5.0 s (5.0–5.0) |",
		"| churn train (candidates, validation, calibration), CLV included | 22.0 s (20.0–30.0) |",
		"| CLV fit + predict (model choice, tracking), alongside churn train | 2.0 s (2.0–2.0) |",
		"| `churn run` end to end | 30.0 s (25.0–40.0) |",
		"| peak RSS of `churn run` | 2.00 GiB (1.00–3.00) |",
		"| validation ROC AUC of the churn champion | 0.8500 (0.8500–0.8500) |",
		"| `churn run --train-snapshots 1` (less training data): end to end, peak RSS, validation ROC AUC | 15.0 s, 0.50 GiB, 0.8400 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	one := report(1000, 1, result{wall: time.Second}, ms[:1], nil, "", nil, "", nil)
	if !strings.Contains(one, "| `churn run` end to end | 30.0 s |") || strings.Contains(one, "median") || strings.Contains(one, "less training data") {
		t.Errorf("one run: want plain values:\n%s", one)
	}
	if got := spread([]time.Duration{4 * time.Second, 2 * time.Second}, func(d time.Duration) string { return fmt.Sprint(d.Seconds()) }, "s"); got != "3 s (2–4)" {
		t.Errorf("median of two: %s", got)
	}
}
