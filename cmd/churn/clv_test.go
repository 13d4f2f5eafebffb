package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-dev/churn/internal/testutil"
)

// The --json contract of DESIGN.md: model, params (paper names, paper
// order), log_likelihood, customers.
func TestCLVFitJSON(t *testing.T) {
	in := testutil.SharedData(t, "cdnow/btyd_cdnowSummary_cbs.csv")
	for _, tc := range []struct {
		model  string
		params []string
		ll     float64 // published, see ../shared/data/README.md
	}{
		{"bgnbd", []string{"r", "alpha", "a", "b"}, -9582.43},
		{"mbgnbd", []string{"r", "alpha", "a", "b"}, -9582.14},
		{"pareto-nbd", []string{"r", "alpha", "s", "beta"}, -9594.98},
		{"gamma-gamma", []string{"p", "q", "gamma"}, -4055.92},
	} {
		code, out, stderr := capture(t, "clv", "fit", "--model", tc.model, "--input", in, "--format", "summary", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.model, code, stderr)
		}
		var got struct {
			Model         string             `json:"model"`
			Params        map[string]float64 `json:"params"`
			LogLikelihood float64            `json:"log_likelihood"`
			Customers     float64            `json:"customers"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: %v\n%s", tc.model, err, out)
		}
		if got.Model != tc.model || len(got.Params) != len(tc.params) || got.LogLikelihood > tc.ll+0.01 || got.LogLikelihood < tc.ll-0.01 {
			t.Errorf("%s: %+v", tc.model, got)
		}
		want := 2357.0
		if tc.model == "gamma-gamma" {
			want = 946
		}
		if got.Customers != want {
			t.Errorf("%s: customers %v, want %v", tc.model, got.Customers, want)
		}
		// Parameters appear in the papers' order.
		last := -1
		for _, p := range tc.params {
			i := strings.Index(out, `"`+p+`":`)
			if i < last {
				t.Errorf("%s: parameter %s out of order in %s", tc.model, p, out)
			}
			last = i
		}
	}
}

func TestCLVErrors(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "s.csv")
	os.WriteFile(zero, []byte("x,t_x,T\n1,2,3\n0,0,0\n"), 0o644)
	code, _, stderr := capture(t, "clv", "fit", "--model", "bgnbd", "--input", zero, "--format", "summary")
	if code != exitBadInput || !strings.Contains(stderr, "age T = 0 must be > 0") || !strings.Contains(stderr, "s.csv") {
		t.Errorf("T = 0 row: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"clv", "fit", "--model", "nope", "--input", zero, "--format", "summary"},
		{"clv", "fit", "--model", "bgnbd", "--input", zero, "--format", "transactions"},
		{"clv", "fit", "--model", "bgnbd", "--format", "summary"},
		{"clv", "fit", "--model", "bgnbd", "--input", zero, "--format", "summary", "--time-unit", "month"},
		{"clv", "evaluate", "--model", "bgnbd", "--input", zero, "--format", "cdnow", "--calibration-end", "1997-09-30", "--holdout-end", "1997-01-01"},
	} {
		if code, _, stderr := capture(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

func TestCLVEvaluateSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "tracking.svg")
	code, out, stderr := capture(t, "clv", "evaluate", "--model", "mbgnbd", "--input", testutil.SharedData(t, "cdnow/CDNOW_sample.txt"),
		"--format", "cdnow", "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30", "--svg", svg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "repeat transactions  1882") || !strings.Contains(out, "7+") {
		t.Errorf("evaluate output:\n%s", out)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "end of calibration") {
		t.Errorf("tracking chart missing or wrong (%v)", err)
	}
}

func TestCLVFitPredictionsFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pred.csv")
	code, _, stderr := capture(t, "clv", "fit", "--model", "mbgnbd", "--input", testutil.SharedData(t, "cdnow/CDNOW_sample.txt"),
		"--format", "cdnow", "--calibration-end", "1997-09-30", "--predictions", out, "--draws", "20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2358 || !strings.HasPrefix(lines[0], "customer_id,x,t_x,T,p_alive,p_alive_lo95") {
		t.Errorf("%d lines, header %q", len(lines), lines[0])
	}
}

func TestCLVGammaGammaFractionalWeight(t *testing.T) {
	in := filepath.Join(t.TempDir(), "w.csv")
	os.WriteFile(in, []byte("x,t_x,T,monetary_value,weight\n2,10,20,30,1\n1,5,20,12,2.5\n3,15,20,18,1\n"), 0o644)
	code, _, stderr := capture(t, "clv", "fit", "--model", "gamma-gamma", "--input", in, "--format", "summary")
	if code != exitBadInput || !strings.Contains(stderr, "w.csv:3") || !strings.Contains(stderr, "whole customer counts") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}
