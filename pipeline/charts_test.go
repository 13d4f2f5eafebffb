package pipeline

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/churn-dev/churn/internal/testutil"
	"github.com/churn-dev/churn/models"
)

func TestChartHelpers(t *testing.T) {
	h := HistogramSVG("Recency", "days", []float64{1, 2, 2, 3, math.NaN(), 30}, 5)
	if !strings.HasPrefix(h, "<svg") || !strings.Contains(h, "Recency") || !strings.HasSuffix(strings.TrimSpace(h), "</svg>") {
		t.Errorf("histogram: %.200s", h)
	}
	if s := HistogramSVG("t", "x", []float64{math.NaN()}, 5); !strings.Contains(s, "chart unavailable") {
		t.Errorf("empty histogram: %s", s)
	}
	// Shading: the smallest value white, the largest the darkest red; NaN empty; labels escaped.
	m := HeatmapHTML("R × F <test>", []string{"r1", "r<2>"}, []string{"f1", "f2"}, [][]float64{{0, 50}, {100, math.NaN()}}, "%.0f%%")
	for _, want := range []string{"R × F &lt;test&gt;", "r&lt;2&gt;", `background:rgb(255,255,255)">0%`, `background:rgb(255,95,95)">100%`, `background:rgb(255,175,175)">50%`, "<td></td>"} {
		if !strings.Contains(m, want) {
			t.Errorf("heatmap lacks %q:\n%s", want, m)
		}
	}
	metrics := models.Evaluate([]float64{0.9, 0.8, 0.3, 0.2, 0.7, 0.1, 0.6, 0.4, 0.35, 0.05}, []float64{1, 1, 0, 0, 1, 0, 1, 0, 0, 0})
	for name, svg := range map[string]string{"gains": GainsSVG(metrics), "calibration": CalibrationSVG(metrics)} {
		if !strings.HasPrefix(svg, "<svg") {
			t.Errorf("%s: %.200s", name, svg)
		}
	}
	in := CLVInput{Path: testutil.SharedData(t, "cdnow/CDNOW_sample.txt"), Format: "cdnow", Model: "bgnbd", TimeUnit: "week",
		CalibrationEnd: day("1997-09-30"), HoldoutEnd: day("1998-06-30")}
	ev, err := EvaluateCLV(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if s := TrackingSVG(ev); !strings.HasPrefix(s, "<svg") || strings.Count(s, "<path") < 2 {
		t.Errorf("tracking: %.300s", s)
	}
}
