package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// capture runs the CLI with args and returns exit code, stdout and stderr.
func capture(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	outc, errc := make(chan string), make(chan string)
	go func() { b, _ := io.ReadAll(ro); outc <- string(b) }()
	go func() { b, _ := io.ReadAll(re); errc <- string(b) }()
	code := run(context.Background(), args)
	wo.Close()
	we.Close()
	os.Stdout, os.Stderr = oldOut, oldErr
	return code, <-outc, <-errc
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", []string{"features", "--bogus"}, "unknown flag"},
		{"missing workdir", []string{"features", "--cutoff", "2025-01-01"}, "--workdir is required"},
		{"missing cutoff", []string{"features", "--workdir", "w"}, "--cutoff is required"},
		{"bad date", []string{"score", "--workdir", "w", "--as-of", "31/12/2025"}, "want YYYY-MM-DD"},
		{"bad horizon", []string{"train", "--workdir", "w", "--cutoff", "2025-01-01", "--horizon", "soon"}, "--horizon"},
		{"bad risk bands", []string{"score", "--workdir", "w", "--as-of", "2025-01-01", "--risk-high", "0.2"}, "risk-medium < risk-high"},
		{"no training snapshots", []string{"train", "--workdir", "w", "--cutoff", "2025-01-01", "--train-snapshots", "0"}, "--train-snapshots must be 1..60"},
		{"bad snapshot step", []string{"run", "--workdir", "w", "--as-of", "2025-01-01", "--snapshot-step", "400d"}, "--snapshot-step \"400d\""},
		{"generate without out", []string{"generate", "--customers", "10"}, "--out is required"},
		{"generate zero", []string{"generate", "--customers", "0", "--out", "x"}, "--customers must be a positive"},
		{"export format", []string{"export", "--workdir", "w", "--as-of", "2025-01-01", "--format", "xml"}, "supported formats"},
		{"bad map", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--map", "nope=x"}, "--map: datasets: transactions mapping key"},
		{"missing input", []string{"ingest", "--workdir", "w", "--transactions", "/does/not/exist.csv"}, "--transactions"},
		{"log format", []string{"features", "--workdir", "w", "--cutoff", "2025-01-01", "--log-format", "xml"}, "--log-format"},
		{"ingest format", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--format", "xml"}, "--format"},
		{"ingest encoding", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--encoding", "ebcdic"}, "--encoding"},
		{"ingest delimiter", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--delimiter", ":"}, "--delimiter"},
		{"ingest timezone", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--timezone", "Mars/Olympus"}, "--timezone"},
		{"ingest date order", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--date-order", "ymd"}, "--date-order"},
		{"ingest decimal", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--decimal", ";"}, "--decimal"},
		{"ingest bad fraction", []string{"ingest", "--workdir", "w", "--transactions", "main.go", "--max-bad-fraction", "2"}, "--max-bad-fraction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := capture(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q does not say %q", stderr, tc.msg)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"", "generate", "ingest", "features", "train", "score", "export", "run"} {
		args := []string{"--help"}
		if cmd != "" {
			args = []string{cmd, "--help"}
		}
		code, out, _ := capture(t, args...)
		if code != exitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("churn %s --help: exit %d, output %q", cmd, code, out)
		}
	}
}

func TestBadDataExit3(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "tx.csv")
	os.WriteFile(in, []byte("customer_id,ts,amount\nc1,2024-01-01,1.00\nc1,not-a-date,2.00\n"), 0o644)
	code, _, stderr := capture(t, "ingest", "--workdir", filepath.Join(dir, "w"), "--transactions", in, "--log-format", "json")
	if code != exitBadInput || !strings.Contains(stderr, "tx.csv:3:2") || !strings.Contains(stderr, "Nothing was written") {
		t.Errorf("exit %d, stderr %q; want 3 and the position tx.csv:3:2", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "w", "warehouse")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(dir, "w", "warehouse"))
		if len(entries) > 0 {
			t.Errorf("a failed ingest left %v", entries)
		}
	}
}

// Flags beat CHURN_* variables, which beat the config file.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "churn.yaml")
	os.WriteFile(cfgPath, []byte("workdir: "+filepath.Join(dir, "from-config")+"\nhorizon: 60d\nrisk_high: 0.7\n"), 0o644)
	root := newRoot()
	cmd, _, _ := root.Find([]string{"features"})
	var o options
	cmd.ResetFlags()
	stageFlags(cmd, &o, false)
	cmd.Flags().String("cutoff", "", "")
	t.Setenv("CHURN_HORIZON", "30d")
	if err := cmd.ParseFlags([]string{"--config", cfgPath, "--workers", "3"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(cmd); err != nil {
		t.Fatal(err)
	}
	if o.workdir != filepath.Join(dir, "from-config") || o.horizon != "30d" || o.workers != 3 {
		t.Errorf("resolved workdir=%q horizon=%q workers=%d", o.workdir, o.horizon, o.workers)
	}
	os.WriteFile(cfgPath, []byte("wrokdir: x\n"), 0o644)
	if err := applyConfig(cmd); err == nil || !strings.Contains(err.Error(), "unknown keys wrokdir") {
		t.Errorf("typo in config: err = %v", err)
	}
}

// The feature catalogue needs no work directory and lists every column.
func TestFeaturesCatalogue(t *testing.T) {
	code, out, stderr := capture(t, "features", "--catalogue")
	if code != 0 || !strings.Contains(out, "| recency_days | days |") || !strings.Contains(out, "距最近一次下单的天数") || strings.Count(out, "\n") < 40 {
		t.Errorf("exit %d, stderr %q, output:\n%s", code, stderr, out)
	}
}

func TestGenerateRunExport(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	data, work := filepath.Join(dir, "data"), filepath.Join(dir, "work")
	if code, out, stderr := capture(t, "generate", "--customers", "1500", "--seed", "5", "--out", data); code != 0 || !strings.Contains(out, "1500 customers") {
		t.Fatalf("generate: exit %d %q %q", code, out, stderr)
	}
	code, out, stderr := capture(t, "run", "--workdir", work, "--as-of", "2025-12-31", "--transactions", filepath.Join(data, "transactions.csv"), "--buckets", "3")
	if code != 0 {
		t.Fatalf("run: exit %d, stderr %s", code, stderr)
	}
	list := filepath.Join(work, "lists", "as-of=2025-12-31", "retention_list.csv")
	if !strings.Contains(out, list) || !strings.Contains(out, "rank  customer_id") {
		t.Errorf("run output lacks the list path or top rows:\n%s", out)
	}
	if n := strings.Count(stderr, `"stage":"`); n < 5 {
		t.Errorf("want one JSON log line per stage off a terminal, got %d:\n%s", n, stderr)
	}
	exported := filepath.Join(dir, "out.csv")
	if code, _, stderr := capture(t, "export", "--workdir", work, "--as-of", "2025-12-31", "--format", "csv", "--out", exported); code != 0 {
		t.Fatalf("export: exit %d %s", code, stderr)
	}
	a, _ := os.ReadFile(list)
	b, _ := os.ReadFile(exported)
	if !bytes.Equal(a, b) || bytes.Count(a, []byte("\n")) != 1501 {
		t.Errorf("export differs from the list or has the wrong row count")
	}
	// train prints the leaderboard and its decision; models list shows the versions.
	// Two training snapshots eight weeks apart instead of four a month apart.
	code, out, stderr = capture(t, "train", "--workdir", work, "--cutoff", "2025-12-31", "--promote-margin", "0.5", "--train-snapshots", "2", "--snapshot-step", "8w")
	for _, want := range []string{"candidate", "logit", "gbdt", "btyd", "saved, not promoted: kept the champion"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("train: exit %d, output lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
	var cutoffs [][]string
	models, _ := filepath.Glob(filepath.Join(work, "models", "churn", "*", "model.json"))
	for _, path := range models {
		var art struct {
			TrainCutoffs []string `json:"train_cutoffs"`
		}
		b, err := os.ReadFile(path)
		if err != nil || json.Unmarshal(b, &art) != nil {
			t.Fatalf("model %s: %v", path, err)
		}
		cutoffs = append(cutoffs, art.TrainCutoffs)
	}
	// The run's model (four snapshots a month apart from 2025-07-04, two
	// horizons before the as-of day) and train's.
	if !slices.ContainsFunc(cutoffs, func(c []string) bool {
		return slices.Equal(c, []string{"2025-07-04", "2025-06-04", "2025-05-05", "2025-04-05"})
	}) ||
		!slices.ContainsFunc(cutoffs, func(c []string) bool { return slices.Equal(c, []string{"2025-07-04", "2025-05-09"}) }) {
		t.Errorf("training cutoffs of the models: %v", cutoffs)
	}
	code, out, _ = capture(t, "models", "list", "--workdir", work)
	if code != 0 || strings.Count(out, "\n") < 2 || strings.Count(out, "*") != 1 {
		t.Errorf("models list: exit %d\n%s", code, out)
	}
	if code, _, stderr := capture(t, "models", "promote", "nope", "--workdir", work); code == 0 || !strings.Contains(stderr, "no complete churn model nope") {
		t.Errorf("promote of a missing version: exit %d %q", code, stderr)
	}
}

// ingest from the command line: a dry run writes nothing and shows the
// mapping; a mostly-bad file exits 3 naming its lines; a held lock exits 5;
// a clean Excel-style export loads with the summary.
func TestIngestCommand(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	excel := filepath.Join(dir, "export.csv")
	os.WriteFile(excel, []byte("\ufeff会员号;订单号;交易时间;消费金额\r\n007;A1;05.03.2024 14:22;1.234,50 €\r\n008;A2;06.03.2024 09:00;-12,50 €\r\n"), 0o644)
	code, out, stderr := capture(t, "ingest", "--workdir", work, "--transactions", excel, "--dry-run", "--date-order", "dmy", "--timezone", "Asia/Shanghai")
	if code != exitOK {
		t.Fatalf("dry run: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"CSV, UTF-8 with BOM, delimiter ';'", `decimal separator ','`, "customer_id  ← 会员号", "ts           ← 交易时间", "amount       ← 消费金额",
		"007", "2024-03-05T06:22:00Z", "1234.50", "-12.50", "nothing was written"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("dry run created the work directory (%v)", err)
	}
	code, out, stderr = capture(t, "ingest", "--workdir", work, "--transactions", excel, "--date-order", "dmy")
	if code != exitOK || !strings.Contains(out, "2 rows read, 2 loaded, 0 duplicates dropped, 0 quarantined") || !strings.Contains(out, "warehouse: 2 rows, 2 customers, 2024-03-05 .. 2024-03-06") {
		t.Fatalf("ingest: exit %d, out %q, stderr %q", code, out, stderr)
	}
	code, out, _ = capture(t, "ingest", "--workdir", work, "--transactions", excel, "--date-order", "dmy")
	if code != exitOK || !strings.Contains(out, "ingested before") || !strings.Contains(out, "nothing new to ingest") {
		t.Errorf("re-ingest: exit %d, out %q", code, out)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("customer_id,ts,amount\nc1,2024-01-01,1\nc2,2024-13-01,1\n"), 0o644)
	code, _, stderr = capture(t, "ingest", "--workdir", work, "--transactions", bad)
	if code != exitBadInput || !strings.Contains(stderr, "bad.csv:3:2") || !strings.Contains(stderr, "month 13") || !strings.Contains(stderr, "Nothing was written") {
		t.Errorf("bad file: exit %d, stderr %q", code, stderr)
	}
	unlock, err := datasets.LockWorkdir(work)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	code, _, stderr = capture(t, "ingest", "--workdir", work, "--transactions", bad)
	if code != exitLocked || !strings.Contains(stderr, "lock") {
		t.Errorf("locked: exit %d, stderr %q", code, stderr)
	}
}

// A Shopify export with --preset shopify: the summary accounts for guests
// and cancelled orders; the dry run shows the preset's mapping.
func TestIngestShopifyPreset(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "orders_export.csv")
	os.WriteFile(export, []byte("Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Lineitem discount,Cancelled at,Total\n"+
		"#1001,ann@example.com,paid,2024-03-05 14:22:10 +0800,2,Mug,10.00,MUG-1,0,,45.00\n"+
		"#1001,,,,1,Tea,25.00,TEA-1,5.00,,\n"+
		"#1002,bob@example.com,voided,2024-03-06 09:00:00 +0800,1,Cap,9.99,CAP-1,0,2024-03-07 10:00:00 +0800,9.99\n"+
		"#1003,,paid,2024-03-06 10:00:00 +0800,1,Pin,5.00,PIN-1,0,,5.00\n"), 0o644)
	code, out, stderr := capture(t, "ingest", "--workdir", filepath.Join(dir, "w"), "--transactions", export, "--preset", "shopify", "--dry-run")
	if code != exitOK || !strings.Contains(out, "email        ← Email") || !strings.Contains(out, "unit_price   ← Lineitem price") || !strings.Contains(out, "amount       ← (none)") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = capture(t, "ingest", "--workdir", filepath.Join(dir, "w"), "--transactions", export, "--preset", "shopify")
	for _, want := range []string{"4 rows read, 3 loaded", "guest checkouts set aside (no customer id): 1", "lines of cancelled or refunded orders (netted out): 1", "warehouse: 4 rows, 2 customers"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
	if code, _, stderr := capture(t, "ingest", "--workdir", filepath.Join(dir, "w"), "--transactions", export, "--preset", "amazon"); code != exitUsage || !strings.Contains(stderr, "shopify") {
		t.Errorf("unknown preset: exit %d, %q", code, stderr)
	}
}

// churn config check prints the resolved settings (file, then environment
// over it) in a form the config file takes back, and rejects unknown keys.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "churn.yaml")
	os.WriteFile(cfgPath, []byte("workdir: "+dir+"\nrisk_high: 0.7\nlang: en\nmodels: logit,gbdt\n"), 0o644)
	t.Setenv("CHURN_LANG", "zh")
	code, out, stderr := capture(t, "config", "check", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"risk-high: 0.7\n", "lang: \"zh\"\n", "models: \"logit,gbdt\"\n", "workdir: \"" + dir + "\"\n", "guard-volume: \"stop\"\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The printed settings are a valid config file themselves.
	back := filepath.Join(dir, "back.yaml")
	os.WriteFile(back, []byte(out), 0o644)
	if code, _, stderr := capture(t, "config", "check", "--config", back); code != 0 {
		t.Errorf("the printed config does not check: %s", stderr)
	}
	os.WriteFile(cfgPath, []byte("workdir: "+dir+"\nrisk_hihg: 0.7\n"), 0o644)
	if code, _, stderr := capture(t, "config", "check", "--config", cfgPath); code != 2 || !strings.Contains(stderr, "risk_hihg") {
		t.Errorf("unknown key: exit %d, %s", code, stderr)
	}
}

// A damaged warehouse file is bad input: exit code 3 and the file named.
func TestCorruptWarehouseExit3(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	data := filepath.Join(dir, "data")
	if code, _, stderr := capture(t, "generate", "--customers", "300", "--seed", "3", "--out", data); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := capture(t, "ingest", "--workdir", work, "--transactions", filepath.Join(data, "transactions.csv"), "--buckets", "2"); code != 0 {
		t.Fatal(stderr)
	}
	bucket := filepath.Join(work, "warehouse", "transactions", "bucket=001", "part-00000.parquet")
	if err := os.WriteFile(bucket, []byte("PAR1 this is not parquet PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := capture(t, "features", "--workdir", work, "--cutoff", "2025-06-30")
	if code != 3 || !strings.Contains(stderr, "bucket=001") || !strings.Contains(stderr, "part-00000.parquet") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// Durations in days: units, bounds, and counts that would overflow when
// multiplied by seven.
func TestParseDays(t *testing.T) {
	for in, want := range map[string]int{"90": 90, "90d": 90, " 12W ": 84, "1d": 1, "36525d": 36525, "5217w": 36519} {
		if got, err := parseDays(in); err != nil || got != want {
			t.Errorf("parseDays(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-3d", "d", "w", "1.5d", "36526", "5218w", "2635249153387078803w", "9223372036854775807d", "abc"} {
		if n, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) = %d, accepted", bad, n)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("parseDays(%q): error %q does not quote the input", bad, err)
		}
	}
}

// Any text either parses to 1…36525 days or is refused; a plain count
// with d or w means that many days or weeks.
func FuzzParseDays(f *testing.F) {
	for _, seed := range []string{"90d", "12w", "365", "0", "2635249153387078803w", "-1d", " 7W"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseDays(s)
		if err != nil {
			return
		}
		if n < 1 || n > maxDays {
			t.Fatalf("parseDays(%q) = %d", s, n)
		}
		// A count of weeks is small enough to multiply without wrapping round.
		if k, err := strconv.Atoi(strings.TrimSuffix(s, "w")); err == nil && strings.HasSuffix(s, "w") && (k > maxDays/7 || n != 7*k) {
			t.Fatalf("parseDays(%q) = %d, want 7 × %d", s, n, k)
		}
	})
}

// A config file of any content fills the flags it names or gives a usage
// error (exit 2) naming the file; it never panics.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{"workdir: /tmp/x\nhorizon: 60d\nrisk_high: 0.7\n", "wrokdir: x\n", "models: [logit, gbdt]\n",
		"satisfaction-weights: {nps: 2, csat: 1}\n", "horizon: [\n", "- a\n- b\n", "workers: 3\nworkers: 4\n", "? [a]\n: b\n", "a: &x [*x]\n"} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "churn.yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		root := newRoot()
		cmd, _, _ := root.Find([]string{"run"})
		if err := cmd.ParseFlags([]string{"--config", path}); err != nil {
			t.Fatal(err)
		}
		if err := applyConfig(cmd); err != nil {
			if _, ok := err.(usageError); !ok {
				t.Fatalf("%T %v, want a usage error", err, err)
			}
		}
	})
}

// Any --satisfaction-weights text either parses to kind → weight pairs
// the feature config then checks, or is refused; it never panics.
func FuzzParseWeights(f *testing.F) {
	for _, seed := range []string{"nps=2,csat=1", "nps=1", "ces=-1", "x=NaN", "=", "nps=2,,csat=1", "nps=1e400"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := parseWeights(s)
		if err != nil {
			return
		}
		if len(w) == 0 {
			t.Fatalf("parseWeights(%q) accepted no weights", s)
		}
		cfg := features.Config{SatisfactionWeights: w}
		_ = cfg.Validate() // refuses unknown kinds and bad numbers; must not panic
	})
}
