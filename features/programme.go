package features

import (
	"fmt"

	"math"
	"strconv"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// Tier is a loyalty-programme tier: reached when both the net spend and the
// orders of the tier window (Config.TierWindow days up to the day it is
// judged) reach its thresholds.
type Tier struct {
	Name          string
	MinSpendCents int64
	MinOrders     int64
}

// DefaultTiers are the programme tiers when none are configured: spend in
// currency units and orders over the last 12 months.
var DefaultTiers = []Tier{{"bronze", 0, 1}, {"silver", 20000, 2}, {"gold", 50000, 4}, {"platinum", 150000, 8}}

// DefaultTierWindow is the rolling tier window in days.
const DefaultTierWindow = 365

// TierNone is the tier of a customer who reaches no tier.
const TierNone = "none"

// tierHistory is how many month-ends before the cutoff tiers are judged at
// (months in tier counts up to tierHistory+1; tier changes look at 12).
const tierHistory = 24

// ParseTiers reads tiers written as name=spend/orders,... (spend in currency
// units), lowest first, e.g. "bronze=0/1,silver=200/2,gold=500/4". Each
// tier must need at least as much spend and orders as the one below, and
// more of one of them.
func ParseTiers(s string) ([]Tier, error) {
	var out []Tier
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, rule, ok := strings.Cut(part, "=")
		spend, orders, ok2 := strings.Cut(rule, "/")
		name = strings.TrimSpace(name)
		if !ok || !ok2 || name == "" || name == TierNone {
			return nil, fmt.Errorf("tier %q: want name=spend/orders, e.g. silver=200/2 (the name %q is reserved)", part, TierNone)
		}
		cents, err := datasets.ParseAmount(strings.TrimSpace(spend), '.')
		if err != nil || cents < 0 {
			return nil, fmt.Errorf("tier %q: spend %q is not an amount ≥ 0", part, spend)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(orders), 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("tier %q: orders %q is not a whole number ≥ 1", part, orders)
		}
		if k := len(out); k > 0 {
			p := out[k-1]
			if cents < p.MinSpendCents || n < p.MinOrders || cents == p.MinSpendCents && n == p.MinOrders {
				return nil, fmt.Errorf("tier %q must need more than %q (%s/%d)", name, p.Name, datasets.FormatCents(p.MinSpendCents), p.MinOrders)
			}
		}
		for _, p := range out {
			if p.Name == name {
				return nil, fmt.Errorf("tier %q is named twice", name)
			}
		}
		out = append(out, Tier{name, cents, n})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tiers in %q", s)
	}
	return out, nil
}

// FormatTiers writes tiers as ParseTiers reads them.
func FormatTiers(ts []Tier) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s=%s/%d", t.Name, strings.TrimSuffix(datasets.FormatCents(t.MinSpendCents), ".00"), t.MinOrders)
	}
	return strings.Join(parts, ",")
}

// tierRank is 0 (none) or 1 + the index of the highest tier reached.
func tierRank(ts []Tier, spend, orders int64) int {
	r := 0
	for i, t := range ts {
		if spend >= t.MinSpendCents && orders >= t.MinOrders {
			r = i + 1
		}
	}
	return r
}

// TierName is the name of a tier rank (0: TierNone).
func TierName(ts []Tier, rank int) string {
	if rank <= 0 || rank > len(ts) {
		return TierNone
	}
	return ts[rank-1].Name
}

// tierPoints returns the instants (µs, exclusive ends) at which tiers are
// judged: the end of the cutoff day, then the ends of the last days of the
// tierHistory months before the cutoff's month, newest first.
func tierPoints(cutoffDay int64) []int64 {
	c := time.Unix(cutoffDay*86400, 0).UTC()
	out := []int64{(cutoffDay + 1) * usPerDay}
	first := time.Date(c.Year(), c.Month(), 1, 0, 0, 0, 0, time.UTC) // the day after the previous month's last day
	for k := 0; k < tierHistory; k++ {
		out = append(out, first.UnixMicro())
		first = first.AddDate(0, -1, 0)
	}
	return out
}

// programme is the tier state of one customer at the cutoff.
type programme struct {
	rank, monthsInTier, changes int
}

// judge takes the rank r at tier point k (prev: the rank at point k−1)
// into the state: the rank at the cutoff, the changes over the 12
// month-ends before it, and the run of points in the cutoff's tier.
func (p *programme) judge(k, r, prev int) {
	if k == 0 {
		p.rank = r
	}
	if k > 0 && k <= 12 && r != prev {
		p.changes++
	}
	if r == p.rank && p.monthsInTier == k {
		p.monthsInTier++
	}
}

// judgeTiers computes the customer's tier at every tier point from orders
// (sorted by time) and its purchase lines known at the cutoff: net spend
// (refunds included) and orders in the tier window before each point.
func (b *Builder) judgeTiers(obs []order, lines []line) programme {
	window := int64(b.cfg.TierWindow) * usPerDay
	// Prefix sums over time-sorted orders and lines.
	b.lineTS, b.lineCum = b.lineTS[:0], b.lineCum[:0]
	var cum int64
	for _, l := range lines {
		if l.ts >= b.cutoffEnd || l.void&voidAtCutoff != 0 {
			continue
		}
		cum += l.amount
		b.lineTS, b.lineCum = append(b.lineTS, l.ts), append(b.lineCum, cum)
	}
	// The points are newest first, so the lines and orders before a
	// point's end and before its window's start are found by four counts
	// that only go down (the first index at or after the time, as a binary
	// search over the sorted times gives).
	sumBefore := func(i int) int64 { // net amount of the first i lines
		if i == 0 {
			return 0
		}
		return b.lineCum[i-1]
	}
	lEnd, lFrom, oEnd, oFrom := len(b.lineTS), len(b.lineTS), len(obs), len(obs)
	var p programme
	prev := -1
	for k, end := range b.tierPoints {
		from := end - window
		for lEnd > 0 && b.lineTS[lEnd-1] >= end {
			lEnd--
		}
		for lFrom > 0 && b.lineTS[lFrom-1] >= from {
			lFrom--
		}
		for oEnd > 0 && obs[oEnd-1].ts >= end {
			oEnd--
		}
		for oFrom > 0 && obs[oFrom-1].ts >= from {
			oFrom--
		}
		if lEnd == 0 && oEnd == 0 {
			// Nothing before this point, so nothing before any later one:
			// every point from k on has the rank of no spend and no orders,
			// and the loop's last steps are these.
			p.judge(k, tierRank(b.cfg.Tiers, 0, 0), prev)
			if p.monthsInTier == k+1 { // in the tier at k, so at every later point
				p.monthsInTier = len(b.tierPoints)
			}
			break
		}
		r := tierRank(b.cfg.Tiers, sumBefore(lEnd)-sumBefore(lFrom), int64(oEnd-oFrom))
		p.judge(k, r, prev)
		if k > 12 && p.monthsInTier < k {
			break // nothing more to learn
		}
		prev = r
	}
	return p
}

// appendPoints writes the loyalty-points features from the lines by the
// cutoff (all NaN when the input has no points columns). Cancelled orders
// need no care: their counterparts carry the points back.
func (b *Builder) appendPoints(next func() featureColumn, lines []line) {
	balance, earned365, redeemed365, rate, since := math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if b.hasPoints {
		var e, r, e365, r365 int64
		last := int64(math.MinInt64)
		for _, l := range lines {
			if l.ts >= b.cutoffEnd {
				continue
			}
			e, r = e+l.pe, r+l.pr
			if b.cutoffEnd-l.ts <= 365*usPerDay {
				e365, r365 = e365+l.pe, r365+l.pr
			}
			if l.pr > 0 {
				last = max(last, l.ts)
			}
		}
		balance, earned365, redeemed365 = float64(e-r), float64(e365), float64(r365)
		if e > 0 {
			rate = float64(r) / float64(e)
		}
		if last != math.MinInt64 {
			since = float64(b.cutoffDay - floorDiv(last, usPerDay))
		}
	}
	for _, v := range []float64{balance, earned365, redeemed365, rate, since} {
		nullable(next(), v)
	}
}
