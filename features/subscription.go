package features

import (
	"math"

	"github.com/churn-dev/churn/datasets"
)

// Subscription states at the cutoff (column subscription_status).
const (
	SubscriptionActive    = "active"
	SubscriptionCancelled = "cancelled"
)

// subscriptionState is a customer's contract history as known at a time.
type subscriptionState struct {
	status     string // "", SubscriptionActive or SubscriptionCancelled
	since      int64  // time of the subscribe that began the active spell
	hasSince   bool
	cancels    int64
	lastCancel int64 // valid when cancels > 0
	// cancelled is the contractual label: a cancel within the horizon
	// by a customer not cancelled at the cutoff.
	cancelled bool
}

// judgeSubscription replays the subscribe and cancel events of one
// customer (sorted by time) up to the cutoff and, for the label, looks at
// the cancels within the horizon. A customer with cancel events but no
// subscribe event counts as active before the first cancel.
func (b *Builder) judgeSubscription(fb []datasets.Feedback) subscriptionState {
	var s subscriptionState
	for _, f := range fb {
		if f.TS >= b.horizonEnd {
			break
		}
		if f.Kind != "subscribe" && f.Kind != "cancel" {
			continue
		}
		if f.TS >= b.cutoffEnd {
			if f.Kind == "cancel" && s.status != SubscriptionCancelled {
				s.cancelled = true
			}
			continue
		}
		switch f.Kind {
		case "subscribe":
			if s.status != SubscriptionActive {
				s.since, s.hasSince = f.TS, true
			}
			s.status = SubscriptionActive
		case "cancel":
			s.status, s.hasSince = SubscriptionCancelled, false
			s.cancels++
			s.lastCancel = f.TS
		}
	}
	return s
}

// appendSubscription writes the contract features of one customer.
func (b *Builder) appendSubscription(next func() featureColumn, s subscriptionState) {
	next().(*strCol).Append(s.status)
	days := math.NaN()
	if s.hasSince {
		days = float64(b.cutoffDay - floorDiv(s.since, usPerDay))
	}
	nullable(next(), days)
	next().(*i64Col).Append(s.cancels)
	since := math.NaN()
	if s.cancels > 0 {
		since = float64(b.cutoffDay - floorDiv(s.lastCancel, usPerDay))
	}
	nullable(next(), since)
}
