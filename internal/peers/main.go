// Command peers measures churn's churn models against scikit-learn's
// HistGradientBoostingClassifier on the same features (issue 6): it runs the
// nightly chain on a generated shop and on the shared CDNOW data, exports
// the model's training and validation snapshots, runs hgb.py with Debian's
// python3-sklearn, and writes docs/PEERS.md. `make peers` installs what it
// needs and runs it; make bench copies docs/PEERS.md into docs/BENCHMARKS.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
)

type dataset struct {
	name, note string
	in         pipeline.IngestInput
	asOf       time.Time
}

type hgb struct {
	Sklearn    string  `json:"sklearn"`
	ValidRows  int     `json:"valid_rows"`
	TrainRows  int     `json:"train_rows"`
	InPeriod   float64 `json:"in_period_auc"`
	InPeriodSD float64 `json:"in_period_auc_sd"`
	OutOfTime  float64 `json:"out_of_time_auc"`
	FitSeconds float64 `json:"fit_seconds"`
	Iterations int     `json:"iterations"`
}

func main() {
	shared := flag.String("shared", "../shared/data", "the shared reference data")
	out := flag.String("out", "docs/PEERS.md", "the Markdown file to write")
	customers := flag.Int("customers", 40000, "customers of the generated shop")
	python := flag.String("python", "/usr/bin/python3", "a Python with numpy and scikit-learn (Debian's python3-sklearn)")
	flag.Parse()
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "churn-peers-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	shop := filepath.Join(tmp, "shop")
	if _, err := datasets.Generate(ctx, datasets.SyntheticConfig{Customers: *customers, Seed: 42}, shop); err != nil {
		log.Fatal(err)
	}
	subs := filepath.Join(tmp, "subscriptions")
	if _, err := datasets.Generate(ctx, datasets.SyntheticConfig{Customers: *customers, Seed: 42, Subscriptions: true}, subs); err != nil {
		log.Fatal(err)
	}
	end := datasets.DefaultSyntheticEnd
	sets := []dataset{
		{name: fmt.Sprintf("churn generate, %d customers (seed 42)", *customers), note: "BG/NBD-like shop with feedback; label: no order in the 90 days after the cutoff",
			in: pipeline.IngestInput{Transactions: filepath.Join(shop, "transactions.csv"), Feedback: filepath.Join(shop, "feedback.csv"), Now: end.AddDate(0, 0, 1)}, asOf: end},
		{name: fmt.Sprintf("churn generate --subscriptions, %d customers (seed 42)", *customers), note: "contractual: label a cancel in the 90 days after the cutoff, customers cancelled by then left out",
			in: pipeline.IngestInput{Transactions: filepath.Join(subs, "transactions.csv"), Feedback: filepath.Join(subs, "feedback.csv"), Now: end.AddDate(0, 0, 1)}, asOf: end},
		{name: "CDNOW master, 23,570 customers", note: "label: no purchase in the holdout quarter (1998-04-02 … 06-30)",
			in:   pipeline.IngestInput{Transactions: filepath.Join(*shared, "cdnow", "CDNOW_master.txt"), Source: datasets.SourceOptions{Format: "cdnow"}, Now: time.Date(1998, 7, 1, 0, 0, 0, 0, time.UTC)},
			asOf: time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)},
	}
	var b strings.Builder
	b.WriteString("## Churn models against scikit-learn\n\n")
	b.WriteString("Written by `make peers` (internal/peers): the nightly chain on each dataset, then scikit-learn's\n" +
		"HistGradientBoostingClassifier (defaults) on the same feature snapshots that churn exported. *In period* is\n" +
		"the Python baseline of issue 6: a stratified 75/25 random split of the validation snapshot (mean ± sd of\n" +
		"five seeds). *Out of time* fits on churn's stacked training snapshots and judges on the validation snapshot,\n" +
		"as churn judges its own candidates. Goal: our champion's out-of-time ROC AUC ≥ HGB in period − 0.01.\n\n")
	b.WriteString("| data | rows (train / validation) | our champion, out of time | our GBDT, out of time | HGB in period | HGB out of time | goal met |\n|---|---|---|---|---|---|---|\n")
	var notes []string
	for k, d := range sets {
		work := filepath.Join(tmp, fmt.Sprintf("work%d", k))
		start := time.Now()
		res, err := pipeline.Run(ctx, pipeline.Config{Workdir: work}, d.asOf, d.in)
		if err != nil {
			log.Fatalf("%s: %v", d.name, err)
		}
		secs := time.Since(start).Seconds()
		raw, err := pipeline.ShowModel(work, pipeline.KindChurn, res.Train.ChurnVersion)
		if err != nil {
			log.Fatal(err)
		}
		var art pipeline.ChurnArtifact
		if err := json.Unmarshal(raw, &art); err != nil {
			log.Fatal(err)
		}
		export := func(cutoff string) string {
			t, err := pipeline.ParseDate(cutoff)
			if err != nil {
				log.Fatal(err)
			}
			path := filepath.Join(tmp, fmt.Sprintf("%d-%s.csv", k, cutoff))
			if _, err := pipeline.ExportSnapshot(ctx, work, t, path); err != nil {
				log.Fatal(err)
			}
			return path
		}
		args := []string{"internal/peers/hgb.py", "--valid", export(art.ValidatedOn), "--features", strings.Join(art.Features, ","), "--label", label(art)}
		args = append(args, "--train")
		for _, c := range art.TrainCutoffs {
			args = append(args, export(c))
		}
		var stdout bytes.Buffer
		cmd := exec.Command(*python, args...)
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("%s: %v (is python3-sklearn installed? make peers installs it)", strings.Join(cmd.Args, " "), err)
		}
		var h hgb
		if err := json.Unmarshal(stdout.Bytes(), &h); err != nil {
			log.Fatalf("hgb.py printed %q: %v", stdout.String(), err)
		}
		gbdt := ""
		for _, c := range art.Leaderboard {
			if c.Model == "gbdt" {
				gbdt = fmt.Sprintf("%.4f", c.Validation.AUC)
			}
		}
		met := "yes"
		if art.Validation.AUC < h.InPeriod-0.01 {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %d / %d | %s %.4f | %s | %.4f ± %.4f | %.4f | %s |\n", d.name, h.TrainRows, h.ValidRows, art.Kind, art.Validation.AUC, gbdt,
			h.InPeriod, h.InPeriodSD, h.OutOfTime, met)
		notes = append(notes, fmt.Sprintf("%s: %s; validation cutoff %s, training cutoffs %s; whole chain %.0f s, HGB fit on the training rows %.1f s (%d iterations, scikit-learn %s).",
			d.name, d.note, art.ValidatedOn, strings.Join(art.TrainCutoffs, ", "), secs, h.FitSeconds, h.Iterations, h.Sklearn))
	}
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	if err := datasets.WriteFileAtomic(*out, []byte(b.String())); err != nil {
		log.Fatal(err)
	}
	fmt.Print(b.String())
}

func label(a pipeline.ChurnArtifact) string {
	if a.ChurnDefinition() == pipeline.ChurnCancel {
		return "label_cancelled"
	}
	return "label_churned"
}
