package pipeline

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// reasonText phrases a feature value for a CRM user. Features without an
// entry are not used as reasons.
var reasonText = map[string]func(v float64) string{
	features.RecencyDays:     func(v float64) string { return fmt.Sprintf("no order for %.0f days", v) },
	features.TenureDays:      func(v float64) string { return fmt.Sprintf("customer for %.0f days", v) },
	features.Orders:          func(v float64) string { return fmt.Sprintf("%.0f orders in total", v) },
	features.AvgOrderValue:   func(v float64) string { return fmt.Sprintf("average order %.2f", v) },
	features.BTYDX:           func(v float64) string { return fmt.Sprintf("%.0f repeat purchase days", v) },
	features.Orders30d:       func(v float64) string { return fmt.Sprintf("%.0f orders in the last 30 days", v) },
	features.Orders90d:       func(v float64) string { return fmt.Sprintf("%.0f orders in the last 90 days", v) },
	features.Orders365d:      func(v float64) string { return fmt.Sprintf("%.0f orders in the last year", v) },
	features.OrdersPrev90d:   func(v float64) string { return fmt.Sprintf("%.0f orders in the 90 days before", v) },
	features.Spend90d:        func(v float64) string { return fmt.Sprintf("spent %.2f in the last 90 days", v) },
	features.Spend365d:       func(v float64) string { return fmt.Sprintf("spent %.2f in the last year", v) },
	features.Trend90d:        func(v float64) string { return fmt.Sprintf("orders %+.0f vs the previous 90 days", v) },
	features.GapMeanDays:     func(v float64) string { return fmt.Sprintf("usually orders every %.0f days", v) },
	features.GapStdDays:      func(v float64) string { return fmt.Sprintf("irregular orders (gap sd %.0f days)", v) },
	features.OverdueRatio:    func(v float64) string { return fmt.Sprintf("overdue: %.1f× the usual gap", v) },
	features.ActiveMonths:    func(v float64) string { return fmt.Sprintf("active in %.0f of the last 12 months", v) },
	features.CategoryBreadth: func(v float64) string { return fmt.Sprintf("buys in %.0f categories", v) },
	features.RefundRate:      func(v float64) string { return fmt.Sprintf("refunds %.0f%% of spend", 100*v) },
}

// reasons lists up to three features that push the churn probability up
// most (largest positive log-odds contributions), phrased with their values.
// A feature counts only when the customer's value lies on the side of the
// training mean that goes with churn (see ChurnArtifact.Directions); with
// nil dirs, every positive contribution counts.
func reasons(names []string, x, contrib, means, dirs []float64) string {
	idx := make([]int, 0, len(names))
	for j := range names {
		agrees := dirs == nil || j < len(dirs) && dirs[j] != 0 && x[j] != means[j] && math.Signbit(x[j]-means[j]) == math.Signbit(dirs[j])
		if contrib[j] > 0.05 && agrees && !math.IsNaN(x[j]) && reasonText[names[j]] != nil {
			idx = append(idx, j)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return contrib[idx[a]] > contrib[idx[b]] })
	parts := make([]string, 0, 3)
	for _, j := range idx[:min(3, len(idx))] {
		parts = append(parts, reasonText[names[j]](x[j]))
	}
	return strings.Join(parts, "; ")
}

// Suggested actions, chosen from risk tier, segment and value.
const (
	ActionVIP        = "VIP outreach: personal call or note from the account team"
	ActionWinBack    = "Win-back offer: personalised incentive on favourite categories"
	ActionReminder   = "Re-engage: reminder or recommendation email"
	ActionOnboarding = "Onboarding: second-purchase incentive"
	ActionReward     = "Reward: loyalty points or referral ask"
	ActionNone       = "No action: low value, likely lost"
)

// assignActions sets SuggestedAction on every row: high value (top 20% CLV)
// at high risk gets VIP outreach; valuable segments at risk get a win-back
// offer; low-value lost customers get nothing; other at-risk customers a
// reminder; new ones onboarding; the rest a reward.
func assignActions(rows []datasets.ScoreRow) {
	clv := make([]float64, len(rows))
	for i, r := range rows {
		clv[i] = r.PredictedCLV
	}
	slices.Sort(clv)
	q := func(p float64) float64 {
		if len(clv) == 0 {
			return 0
		}
		return clv[min(len(clv)-1, int(p*float64(len(clv))))]
	}
	p80, p50 := q(0.8), q(0.5)
	for i := range rows {
		r := &rows[i]
		atRisk := r.RiskTier != "low"
		switch {
		case r.RiskTier == "high" && r.PredictedCLV >= p80:
			r.SuggestedAction = ActionVIP
		case atRisk && (r.Segment == "Can't lose them" || r.Segment == "At risk" || r.Segment == "Champions" || r.Segment == "Loyal"):
			r.SuggestedAction = ActionWinBack
		case (r.Segment == "Lost" || r.Segment == "Hibernating") && r.PredictedCLV < p50:
			r.SuggestedAction = ActionNone
		case atRisk:
			r.SuggestedAction = ActionReminder
		case r.Segment == "New" || r.Segment == "Promising":
			r.SuggestedAction = ActionOnboarding
		default:
			r.SuggestedAction = ActionReward
		}
	}
}
