//go:build unix

// Command e2ebench times the nightly chain end to end on a generated shop:
// churn generate, then churn run stage by stage (from its JSON stage logs),
// with the peak resident memory of each process, and writes a Markdown
// table beside the goals of issue 8 and the Python peers measured on the
// same machine. make bench runs it for one million customers; make
// bench-large for ten million.
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
	memLimit := flag.String("memory-limit", "1536MiB", "also time a second churn run with this --memory-limit (empty: no second run)")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "churn-e2e-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	data, work := filepath.Join(tmp, "data"), filepath.Join(tmp, "work")

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
	var stages []stageLog
	chain, err := run(*bin, &stages, "run", "--workdir", work, "--as-of", *asOf, "--log-format", "json",
		"--transactions", filepath.Join(data, "transactions.csv"), "--customers", filepath.Join(data, "customers.csv"),
		"--feedback", filepath.Join(data, "feedback.csv"))
	if err != nil {
		log.Fatal(err)
	}
	var limited *result
	if *memLimit != "" {
		var stages2 []stageLog // a fresh work directory: the same work again, under the limit
		r, err := run(*bin, &stages2, "run", "--workdir", work+"-limited", "--as-of", *asOf, "--log-format", "json", "--memory-limit", *memLimit,
			"--transactions", filepath.Join(data, "transactions.csv"), "--customers", filepath.Join(data, "customers.csv"),
			"--feedback", filepath.Join(data, "feedback.csv"))
		if err != nil {
			log.Fatal(err)
		}
		limited = &r
	}
	md := report(*customers, *seed, gen, chain, stages, sizes, *memLimit, limited)
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
	Msg      string `json:"msg"`
	Stage    string `json:"stage"`
	Rows     int64  `json:"rows"`
	Duration string `json:"duration"`
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

func report(customers, seed int, gen, chain result, stages []stageLog, sizes map[string]int64, memLimit string, limited *result) string {
	var b strings.Builder
	secs := func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
	gib := func(kb int64) string { return fmt.Sprintf("%.2f GiB", float64(kb)/(1<<20)) }
	var rows int64
	for _, s := range stages {
		if s.Stage == "ingest" {
			rows = s.Rows
		}
	}
	snap, clv, train := duration(stages, "train snapshots"), duration(stages, "clv"), duration(stages, "train")
	feats, passes := passes(stages, "features")
	fmt.Fprintf(&b, "## End to end: %s customers\n\n", thousands(customers))
	fmt.Fprintf(&b, "Written by `go run ./internal/e2ebench -customers %d` (make bench; make bench-large for 10M): `churn generate --seed %d`, "+
		"then one `churn run` with transactions, customers and feedback (%s rows; CSV %s), stages from its JSON log. "+
		"%d CPUs (GOMAXPROCS), %s. Peers: issue 8's measurements on this machine.\n\n",
		customers, seed, thousands(int(rows)), mib(sizes), runtime.NumCPU(), cpuModel())
	fmt.Fprintln(&b, "| stage | ours | goal (1M) | peer |")
	fmt.Fprintln(&b, "|---|---:|---|---|")
	fmt.Fprintf(&b, "| generate | %s | ≤ 5 s | Python generator 12 s |\n", secs(gen.wall))
	fmt.Fprintf(&b, "| ingest CSV → Parquet (with customers, feedback) | %s | ≤ 2 s (transactions) | DuckDB load + Parquet write 1.3 s |\n", secs(duration(stages, "ingest")))
	inPasses := "one pass"
	if passes != 1 {
		inPasses = fmt.Sprintf("%d passes", passes)
	}
	fmt.Fprintf(&b, "| features: %d snapshots in %s | %s | ≤ 1.5 s a snapshot | pandas 8 s |\n", countStage(stages, "features"), inPasses, secs(feats))
	fmt.Fprintf(&b, "| CLV fit + predict (model choice, tracking) | %s | ≤ 1 s | lifetimes 18 s |\n", secs(clv))
	fmt.Fprintf(&b, "| churn train (candidates, validation, calibration) | %s | ≤ 6 s | sklearn 9.5 s |\n", secs(train-snap-clv))
	fmt.Fprintf(&b, "| score + list + report | %s | ≤ 2 s | — |\n", secs(duration(stages, "score")))
	fmt.Fprintf(&b, "| `churn run` end to end | %s | ≤ 12 s | Python stack ≈ 50 s |\n", secs(chain.wall))
	fmt.Fprintf(&b, "| peak RSS of `churn run` | %s | ≤ 1 GiB | 1.08 GiB |\n", gib(chain.rssKB))
	if limited != nil {
		fmt.Fprintf(&b, "| `churn run --memory-limit %s`: end to end, peak RSS | %s, %s | | |\n", memLimit, secs(limited.wall), gib(limited.rssKB))
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
