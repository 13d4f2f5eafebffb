package features

import (
	"math"
	"testing"

	"github.com/churn-dev/churn/datasets"
)

func contractEvents(t *testing.T, evs ...[3]string) []datasets.Feedback {
	var fb []datasets.Feedback
	for _, e := range evs {
		fb = append(fb, datasets.Feedback{CustomerID: e[0], TS: mustTime(t, e[1]), Kind: e[2], Score: math.NaN()})
	}
	return fb
}

// Contract features and the contractual label, by hand (cutoff 2024-06-30,
// horizon 90 days: labels look at 2024-07-01 … 2024-09-28).
func TestSubscriptionFixture(t *testing.T) {
	fb := contractEvents(t,
		// p: subscribes, cancels, comes back, renews (no new spell), then
		// cancels within the horizon and comes back again.
		[3]string{"p", "2024-01-06T10:00:00Z", "subscribe"},
		[3]string{"p", "2024-03-01T08:00:00Z", "cancel"},
		[3]string{"p", "2024-04-10T08:00:00Z", "subscribe"},
		[3]string{"p", "2024-05-10T08:00:00Z", "subscribe"},
		[3]string{"p", "2024-06-30T23:00:00Z", "nps"}, // other kinds are ignored
		[3]string{"p", "2024-08-01T08:00:00Z", "cancel"},
		[3]string{"p", "2024-08-15T08:00:00Z", "subscribe"},
		// q: a cancel only (active before it, no subscribe event); a cancel
		// after the cutoff while already cancelled is no new churn.
		[3]string{"q", "2024-06-01T08:00:00Z", "cancel"},
		[3]string{"q", "2024-07-15T08:00:00Z", "cancel"},
	)
	fb[4].Score = 9
	rec := buildRich(t, richFixture, fb, Config{Labelled: true})
	checkStrings(t, rec, SubscriptionStatus, SubscriptionActive, SubscriptionCancelled)
	checkColumns(t, rec, map[string][]float64{
		SubscriptionDays: {81, math.NaN()}, // 2024-04-10 → 06-30; q is not active
		Cancellations:    {1, 1},
		DaysSinceCancel:  {121, 29}, // 03-01 → 06-30; 06-01 → 06-30
		LabelCancelled:   {1, 0},
	})

	// Beyond the horizon nothing counts: a cancel on 2024-09-29 is no churn.
	late := contractEvents(t, [3]string{"p", "2024-02-01T00:00:00Z", "subscribe"}, [3]string{"p", "2024-09-29T00:00:00Z", "cancel"},
		[3]string{"q", "2024-09-28T23:59:59Z", "cancel"})
	rec = buildRich(t, richFixture, late, Config{Labelled: true})
	checkStrings(t, rec, SubscriptionStatus, SubscriptionActive, "")
	checkColumns(t, rec, map[string][]float64{SubscriptionDays: {150, math.NaN()}, Cancellations: {0, 0},
		DaysSinceCancel: {math.NaN(), math.NaN()}, LabelCancelled: {0, 1}})

	// Without contract events: empty status, no cancellations, no label.
	rec = buildRich(t, richFixture, feedbackAt(t), Config{Labelled: true})
	checkStrings(t, rec, SubscriptionStatus, "", "")
	checkColumns(t, rec, map[string][]float64{SubscriptionDays: {math.NaN(), math.NaN()}, Cancellations: {0, 0},
		DaysSinceCancel: {math.NaN(), math.NaN()}, LabelCancelled: {0, 0}})
}

// Point in time: events after the cutoff change no contract feature
// (unlabelled snapshots), whatever their kind.
func TestSubscriptionPointInTime(t *testing.T) {
	before := [][3]string{{"p", "2024-01-06T10:00:00Z", "subscribe"}, {"p", "2024-03-01T08:00:00Z", "cancel"},
		{"q", "2024-02-01T08:00:00Z", "subscribe"}}
	after := [][3]string{{"p", "2024-07-01T00:00:00Z", "subscribe"}, {"p", "2024-07-02T00:00:00Z", "cancel"}}
	base := buildRich(t, richFixture, contractEvents(t, before...), Config{})
	withLater := append(append(append([][3]string(nil), before[:2]...), after...), before[2], [3]string{"q", "2024-07-01T00:00:00Z", "cancel"})
	later := buildRich(t, richFixture, contractEvents(t, withLater...), Config{})
	sameCells(t, base, later, "changed", SubscriptionStatus, SubscriptionDays, Cancellations, DaysSinceCancel)
	checkStrings(t, base, SubscriptionStatus, SubscriptionCancelled, SubscriptionActive)
}
