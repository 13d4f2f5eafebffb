//go:build unix

// Command e2ebench times the nightly chain end to end on a generated shop:
// churn generate, then churn run stage by stage (from its JSON stage logs),
// with the peak resident memory of each process, and writes a Markdown
// table beside the goals of issue 8 and the Python peers measured on the
// same machine: the median and range of several runs (-runs), since one
// run on a shared machine varies by ±15%. make bench runs it three times
// for one million customers; make bench-large once for ten million.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	customers := flag.Int("customers", 1_000_000, "customers to generate")
	seed := flag.Int("seed", 1, "generator seed")
	bin := flag.String("bin", "bin/churn", "the churn binary")
	out := flag.String("out", "docs/E2E.md", "Markdown file to write")
	asOf := flag.String("as-of", "2025-12-31", "as-of date of the run")
	runs := flag.Int("runs", 3, "churn runs, each in a fresh work directory: the table gives each row's median and range")
	memLimit := flag.String("memory-limit", "1536MiB", "also time a churn run with this --memory-limit (empty: no such run)")
	lean := flag.String("lean", "--train-snapshots 1 --max-train-rows 300000 --max-validation-rows 300000 --models gbdt,btyd",
		"also time a churn run with these flags, which trade training data for time (empty: no such run)")
	flag.Parse()
	if *runs < 1 {
		log.Fatal("-runs must be at least 1")
	}
	tmp, err := os.MkdirTemp("", "churn-e2e-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	data := filepath.Join(tmp, "data")

	gen, err := run(*bin, nil, "generate", "--customers", fmt.Sprint(*customers), "--seed", fmt.Sprint(*seed), "--out", data)
	if err != nil {
		log.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, f := range []string{"transactions.csv", "customers.csv", "feedback.csv"} {
		if st, err := os.Stat(filepath.Join(data, f)); err == nil {
			sizes[f] = st.Size()
		}
	}
	// chain runs churn run on the generated shop in a fresh work directory
	// and removes it after (at 10M it holds tens of GB).
	chain := func(name string, extra ...string) (result, []stageLog) {
		work := filepath.Join(tmp, name)
		var stages []stageLog
		args := append([]string{"run", "--workdir", work, "--as-of", *asOf, "--log-format", "json",
			"--transactions", filepath.Join(data, "transactions.csv"), "--customers", filepath.Join(data, "customers.csv"),
			"--feedback", filepath.Join(data, "feedback.csv")}, extra...)
		r, err := run(*bin, &stages, args...)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.RemoveAll(work); err != nil {
			log.Fatal(err)
		}
		return r, stages
	}
	var measured []measure
	for i := range *runs {
		r, stages := chain(fmt.Sprintf("work-%d", i))
		measured = append(measured, measureOf(r, stages))
	}
	var limited *result
	if *memLimit != "" {
		r, _ := chain("work-limited", "--memory-limit", *memLimit)
		limited = &r
	}
	var leanM *measure
	if *lean != "" {
		r, stages := chain("work-lean", strings.Fields(*lean)...)
		m := measureOf(r, stages)
		leanM = &m
	}
	md := report(*customers, *seed, gen, measured, sizes, *memLimit, limited, *lean, leanM)
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(md)
}

// result is one process: its wall time and peak resident memory.
type result struct {
	wall  time.Duration
	rssKB int64
}

// stageLog is a "stage done" line of churn's JSON log.
type stageLog struct {
	Msg      string  `json:"msg"`
	Stage    string  `json:"stage"`
	Rows     int64   `json:"rows"`
	Duration string  `json:"duration"`
	AUC      float64 `json:"validation_auc"` // train's: its champion's
}

// run runs the binary, collecting its stage logs into stages when non-nil.
func run(bin string, stages *[]stageLog, args ...string) (result, error) {
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = os.Stdout
	if stages != nil {
		cmd.Stdout = nil
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	res := result{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.rssKB = ru.Maxrss // kilobytes on Linux
	}
	if stages != nil {
		sc := bufio.NewScanner(&stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l stageLog
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "stage done" {
				*stages = append(*stages, l)
			}
		}
	}
	return res, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// duration returns the last logged duration of a stage (the fused snapshot
// build logs cumulative durations; the last one covers them all).
func duration(stages []stageLog, name string) time.Duration {
	var d time.Duration
	for _, s := range stages {
		if s.Stage == name {
			d, _ = time.ParseDuration(s.Duration)
		}
	}
	return d
}

// measure is one churn run's rows of the table.
type measure struct {
	rows                                      int64
	snapshots, passes                         int
	ingest, features, clv, train, score, wall time.Duration
	rssKB                                     int64
	auc                                       float64 // the churn champion's validation ROC AUC
}

func measureOf(chain result, stages []stageLog) measure {
	m := measure{wall: chain.wall, rssKB: chain.rssKB, ingest: duration(stages, "ingest"), clv: duration(stages, "clv"),
		score: duration(stages, "score"), snapshots: countStage(stages, "features")}
	for _, s := range stages {
		switch s.Stage {
		case "ingest":
			m.rows = s.Rows
		case "train":
			m.auc = s.AUC
		}
	}
	m.features, m.passes = passes(stages, "features")
	// The CLV fits run alongside the churn candidates, inside train.
	m.train = duration(stages, "train") - duration(stages, "train snapshots")
	return m
}

// spread is the median of vs and, for more than one value, their range,
// each number written by num, then the unit if any: "16.7 s (15.9–17.7)".
func spread[T time.Duration | int64 | float64](vs []T, num func(T) string, unit string) string {
	s := slices.Clone(vs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if unit != "" {
		unit = " " + unit
	}
	if len(s) == 1 {
		return num(med) + unit
	}
	return fmt.Sprintf("%s%s (%s–%s)", num(med), unit, num(s[0]), num(s[len(s)-1]))
}

func report(customers, seed int, gen result, ms []measure, sizes map[string]int64, memLimit string, limited *result, lean string, leanM *measure) string {
	var b strings.Builder
	seconds := func(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }
	gibs := func(kb int64) string { return fmt.Sprintf("%.2f", float64(kb)/(1<<20)) }
	secs := func(d time.Duration) string { return seconds(d) + " s" }
	gib := func(kb int64) string { return gibs(kb) + " GiB" }
	col := func(f func(measure) time.Duration) string {
		var vs []time.Duration
		for _, m := range ms {
			vs = append(vs, f(m))
		}
		return spread(vs, seconds, "s")
	}
	var rss []int64
	for _, m := range ms {
		rss = append(rss, m.rssKB)
	}
	first := ms[0]
	runs := "one `churn run`"
	ours := "ours"
	if len(ms) > 1 {
		runs = fmt.Sprintf("%d `churn run`s, each in a fresh work directory,", len(ms))
		ours = fmt.Sprintf("ours: median (range) of %d runs", len(ms))
	}
	fmt.Fprintf(&b, "## End to end: %s customers\n\n", thousands(customers))
	fmt.Fprintf(&b, "Written by `go run ./internal/e2ebench -customers %d` (make bench; make bench-large for 10M): `churn generate --seed %d`, "+
		"then %s with transactions, customers and feedback (%s rows; CSV %s), stages from its JSON log. "+
		"%d CPUs (GOMAXPROCS), %s. Peers: issue 8's measurements on this machine.\n\n",
		customers, seed, runs, thousands(int(first.rows)), mib(sizes), runtime.NumCPU(), cpuModel())
	fmt.Fprintf(&b, "| stage | %s | goal (1M) | peer |\n", ours)
	fmt.Fprintln(&b, "|---|---:|---|---|")
	fmt.Fprintf(&b, "| generate | %s | ≤ 5 s | Python generator 12 s |\n", secs(gen.wall))
	fmt.Fprintf(&b, "| ingest CSV → Parquet (with customers, feedback) | %s | ≤ 2 s (transactions) | DuckDB load + Parquet write 1.3 s |\n", col(func(m measure) time.Duration { return m.ingest }))
	inPasses := "one pass"
	if first.passes != 1 {
		inPasses = fmt.Sprintf("%d passes", first.passes)
	}
	fmt.Fprintf(&b, "| features: %d snapshots in %s | %s | ≤ 1.5 s a snapshot | pandas 8 s |\n", first.snapshots, inPasses, col(func(m measure) time.Duration { return m.features }))
	fmt.Fprintf(&b, "| CLV fit + predict (model choice, tracking), alongside churn train | %s | ≤ 1 s | lifetimes 18 s |\n", col(func(m measure) time.Duration { return m.clv }))
	fmt.Fprintf(&b, "| churn train (candidates, validation, calibration), CLV included | %s | ≤ 6 s | sklearn 9.5 s |\n", col(func(m measure) time.Duration { return m.train }))
	fmt.Fprintf(&b, "| score + list + report | %s | ≤ 2 s | — |\n", col(func(m measure) time.Duration { return m.score }))
	fmt.Fprintf(&b, "| `churn run` end to end | %s | ≤ 12 s | Python stack ≈ 50 s |\n", col(func(m measure) time.Duration { return m.wall }))
	fmt.Fprintf(&b, "| peak RSS of `churn run` | %s | ≤ 1 GiB | 1.08 GiB |\n", spread(rss, gibs, "GiB"))
	var aucs []float64
	for _, m := range ms {
		aucs = append(aucs, m.auc)
	}
	fmt.Fprintf(&b, "| validation ROC AUC of the churn champion | %s | | |\n", spread(aucs, func(v float64) string { return fmt.Sprintf("%.4f", v) }, ""))
	if limited != nil {
		fmt.Fprintf(&b, "| `churn run --memory-limit %s`: end to end, peak RSS | %s, %s | | |\n", memLimit, secs(limited.wall), gib(limited.rssKB))
	}
	if leanM != nil {
		fmt.Fprintf(&b, "| `churn run %s` (less training data): end to end, peak RSS, validation ROC AUC | %s, %s, %.4f | | |\n", lean, secs(leanM.wall), gib(leanM.rssKB), leanM.auc)
	}
	fmt.Fprintf(&b, "| peak RSS of `churn generate` | %s | | |\n\n", gib(gen.rssKB))
	return b.String()
}

// passes returns the time of every pass that logged a stage with
// cumulative durations (a snapshot build logs each snapshot done with the
// time since the pass began; a pass begins where the time drops) and how
// many passes there were.
func passes(stages []stageLog, name string) (total time.Duration, n int) {
	var last time.Duration
	for _, s := range stages {
		if s.Stage != name {
			continue
		}
		d, _ := time.ParseDuration(s.Duration)
		if n == 0 || d < last {
			total += last
			n++
		}
		last = d
	}
	return total + last, n
}

func countStage(stages []stageLog, name string) int {
	n := 0
	for _, s := range stages {
		if s.Stage == name {
			n++
		}
	}
	return n
}

func mib(sizes map[string]int64) string {
	var total int64
	for _, n := range sizes {
		total += n
	}
	return fmt.Sprintf("%.0f MiB", float64(total)/(1<<20))
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
