package models

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Edge cases every purchase model must handle with a clear error or a finite answer.
func TestEdgeCases(t *testing.T) {
	continuous := []string{"bgnbd", "mbgnbd", "pareto-nbd"}
	for _, name := range continuous {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				what   string
				groups []RFGroup
				want   string
			}{
				{"everyone x = 0", []RFGroup{{X: 0, Tx: 0, T: 10, Weight: 50}, {X: 0, Tx: 0, T: 30, Weight: 5}}, "no repeat buyers"},
				{"T = 0", []RFGroup{{X: 1, Tx: 1, T: 2, Weight: 1}, {X: 0, Tx: 0, T: 0, Weight: 1}}, "age T = 0 must be > 0"},
				{"t_x > T", []RFGroup{{X: 1, Tx: 5, T: 2, Weight: 1}}, "t_x = 5 must be in [0, T = 2]"},
				{"fractional x", []RFGroup{{X: 1.5, Tx: 1, T: 2, Weight: 1}}, "whole number"},
				{"no customers", nil, "no customers"},
			} {
				_, err := FitPurchaseModel(name, tc.groups)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %v, want it to say %q", tc.what, err, tc.want)
				}
			}
			// One customer with a repeat purchase: a fit or a clear error, never a panic or NaN.
			if m, err := FitPurchaseModel(name, []RFGroup{{X: 2, Tx: 10, T: 20, Weight: 1}}); err == nil {
				for _, v := range m.ParamValues() {
					if math.IsNaN(v) {
						t.Errorf("one customer: NaN parameter %v", m.ParamValues())
					}
				}
			}
			// x = 500 among ordinary customers: finite likelihood and predictions;
			// a heavy buyer who just bought is alive, one silent for a week
			// (at 13 purchases a week) almost surely is not.
			x, tx, T := simulateBG(rand.New(rand.NewPCG(5, 5)), 3000, 0.5, 8, 0.8, 2.5, false)
			x, tx, T = append(x, 500), append(tx, 39), append(T, 40)
			groups := CompressRF(x, tx, T)
			m, err := FitPurchaseModel(name, groups)
			if err != nil {
				t.Fatalf("with x = 500: %v", err)
			}
			ll := TotalLogLik(m, groups)
			alive, silent := m.PAlive(500, 39.99, 40), m.PAlive(500, 39, 40)
			e := m.ExpectedPurchases(10, 500, 39.99, 40)
			if math.IsNaN(ll) || math.IsInf(ll, 0) || !(alive > 0.9 && alive <= 1) || !(silent < 0.2) || !(e > 10 && !math.IsInf(e, 0)) {
				t.Errorf("x = 500: LL %v, P(alive) just bought %v, silent a week %v, E[Y(10)] %v", ll, alive, silent, e)
			}
		})
	}
	if _, err := FitBGBB([]RFGroup{{X: 0, Tx: 0, T: 6, Weight: 9}}); err == nil || !strings.Contains(err.Error(), "no repeat buyers") {
		t.Errorf("bg/bb without repeat buyers: %v", err)
	}
	if _, err := FitBGBB([]RFGroup{{X: 3, Tx: 2, T: 6, Weight: 1}}); err == nil || !strings.Contains(err.Error(), "x ≤ t_x ≤ n") {
		t.Errorf("bg/bb x > t_x: %v", err)
	}
	if _, err := FitGammaGamma([]float64{0, 0}, []float64{0, 0}); err == nil {
		t.Error("gamma-gamma without repeat buyers: want an error")
	}
}

// An L2 penalty shrinks the parameters and costs likelihood; zero changes nothing.
func TestL2Penalty(t *testing.T) {
	x, tx, T := simulateBG(rand.New(rand.NewPCG(9, 9)), 300, 0.5, 8, 0.8, 2.5, false)
	groups := CompressRF(x, tx, T)
	for _, name := range PurchaseModelNames[:3] {
		plain, err := FitPurchaseModel(name, groups)
		if err != nil {
			t.Fatal(err)
		}
		zero, _ := FitPurchaseModelWith(name, groups, FitOptions{})
		pen, err := FitPurchaseModelWith(name, groups, FitOptions{L2: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		sq := func(m PurchaseModel) (s float64) {
			for _, v := range m.ParamValues() {
				s += v * v
			}
			return
		}
		if sq(zero) != sq(plain) {
			t.Errorf("%s: L2 = 0 changed the fit", name)
		}
		if !(sq(pen) < sq(plain)) || !(TotalLogLik(pen, groups) < TotalLogLik(plain, groups)) {
			t.Errorf("%s: penalised Σθ² %v vs %v, LL %v vs %v", name, sq(pen), sq(plain), TotalLogLik(pen, groups), TotalLogLik(plain, groups))
		}
	}
	if _, err := FitPurchaseModelWith("bgnbd", groups, FitOptions{L2: -1}); err == nil {
		t.Error("negative L2: want an error")
	}
}

// With a penalty, the intervals narrow (the penalty adds curvature).
func TestL2Uncertainty(t *testing.T) {
	x, tx, T := simulateBG(rand.New(rand.NewPCG(9, 9)), 300, 0.5, 8, 0.8, 2.5, false)
	groups := CompressRF(x, tx, T)
	opt := FitOptions{L2: 0.05}
	m, err := FitPurchaseModelWith("bgnbd", groups, opt)
	if err != nil {
		t.Fatal(err)
	}
	plain, err1 := PurchaseUncertainty(m, groups)
	pen, err2 := PurchaseUncertaintyWith(m, groups, opt)
	if err2 != nil {
		t.Fatal(err2)
	}
	if err1 != nil {
		t.Fatal(err1)
	}
	for i := range pen.LogSE {
		if !(pen.LogSE[i] < plain.LogSE[i]) {
			t.Errorf("%s: penalised se %v not below %v", pen.Names[i], pen.LogSE[i], plain.LogSE[i])
		}
	}
}
