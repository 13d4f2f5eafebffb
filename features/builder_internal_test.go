package features

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// markCancelled's list gives the marks of the map it replaces for small
// customers: random orders with partial, full, late and early refunds.
func TestMarkCancelledListMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	b := &Builder{cfg: Config{CancelWindow: 30}, nets: map[uint64]orderNet{}}
	for trial := range 3000 {
		n := 1 + rng.IntN(40)
		lines := make([]line, 0, n)
		for len(lines) < n {
			order := uint64(1 + rng.IntN(8))
			ts := int64(rng.IntN(120)) * usPerDay
			amount := int64(rng.IntN(5000))
			if rng.IntN(3) == 0 {
				amount = -amount
			}
			lines = append(lines, line{order: order, ts: ts, amount: amount, void: uint8(rng.IntN(2))})
		}
		bound := int64(rng.IntN(130)) * usPerDay
		viaList, viaMap := slices.Clone(lines), slices.Clone(lines)
		b.markCancelled(viaList, bound, voidAtHorizon)
		b.markCancelledMap(viaMap, bound, voidAtHorizon)
		if !slices.Equal(viaList, viaMap) {
			t.Fatalf("trial %d: list %v, map %v", trial, viaList, viaMap)
		}
	}
	// Some orders were marked at all (the test can fail).
	lines := []line{{order: 1, ts: 0, amount: 500}, {order: 1, ts: usPerDay, amount: -500}, {order: 2, ts: 0, amount: 300}}
	b.markCancelled(lines, 10*usPerDay, voidAtCutoff)
	if lines[0].void != voidAtCutoff || lines[1].void != voidAtCutoff || lines[2].void != 0 {
		t.Fatalf("marks %v", lines)
	}
}

// The score bounds score every value of the data as QuintileScore does:
// ties, signed zeros, NaNs (many of them, so the lowest value scores above
// 1) and no data at all included.
func TestQuintilesMatchQuintileScore(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{0, 1, 2, 7, 1000, 4999, 100_000} {
		vals := make([]float64, n)
		nans := 1 + rng.IntN(4) // in ten
		for i := range vals {
			switch k := rng.IntN(10); {
			case k < nans:
				vals[i] = math.NaN()
			case k == 8:
				vals[i] = math.Copysign(0, -1)
			case k == 9:
				vals[i] = 0
			default:
				vals[i] = float64(rng.IntN(50)) - 10
				if n == 100_000 { // mostly distinct, like spends
					vals[i] = math.Round(rng.NormFloat64() * 1e5)
				}
			}
		}
		sorted := slices.Clone(vals)
		SortFloats(sorted)
		q := newQuintiles(sorted)
		slices.Sort(sorted) // QuintileScore's own order
		for _, v := range append(vals, math.NaN()) {
			if got, want := q.of(v), QuintileScore(sorted, v); got != want {
				t.Fatalf("n=%d v=%v: %d, QuintileScore %d", n, v, got, want)
			}
		}
	}
}

// TestMonthOfMicros: the integer month equals the one time.Time gives, for
// instants around month and century boundaries and before 1970.
func TestMonthOfMicros(t *testing.T) {
	var us []int64
	for y := 1600; y <= 2400; y += 7 {
		for m := time.January; m <= time.December; m++ {
			start := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
			us = append(us, start, start-1, start+1, start+usPerDay*15+12345)
		}
	}
	us = append(us, 0, -1, 1, time.Date(2000, 2, 29, 23, 59, 59, 999999000, time.UTC).UnixMicro())
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		us = append(us, r.Int64N(2<<46)-(1<<46))
	}
	for _, v := range us {
		if got, want := monthOfMicros(v), MonthIndex(time.UnixMicro(v)); got != want {
			t.Fatalf("monthOfMicros(%d) = %d, want %d (%s)", v, got, want, time.UnixMicro(v).UTC())
		}
	}
}

// TestMonthCursor: the cursor gives the book month monthOfMicros gives
// (−1 before the first), for times in increasing order, out of order and
// at month boundaries.
func TestMonthCursor(t *testing.T) {
	book, err := NewKPIBook(time.Date(2023, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	starts := book.monthStarts()
	lo, hi := starts[0], starts[len(starts)-1]
	r := rand.New(rand.NewPCG(5, 6))
	for _, first := range []int{0, 1, 17, book.Last - book.First} {
		var ts []int64
		for range 200 {
			ts = append(ts, lo-40*usPerDay+r.Int64N(hi-lo+40*usPerDay))
		}
		for _, s := range starts[first:] {
			ts = append(ts, s-1, s)
		}
		ts = ts[:len(ts)-1] // the end of the last month is past the book
		sorted := slices.Clone(ts)
		slices.Sort(sorted)
		for _, seq := range [][]int64{sorted, ts} {
			c := monthCursor{starts: starts[first:], m: -1}
			for _, v := range seq {
				want := monthOfMicros(v) - book.First - first
				if want < 0 {
					want = -1
				}
				if got := c.month(v); got != want {
					t.Fatalf("first %d: month(%s) = %d, want %d", first, time.UnixMicro(v).UTC(), got, want)
				}
			}
		}
	}
}

// smallSums gives a map's sums, in first-seen key order, for a few keys
// (the list) and for many (the map past smallSumsList), and starts empty
// again after reset.
func TestSmallSums(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var c smallSums
	for _, distinct := range []int{1, 5, smallSumsList, smallSumsList + 1, 300, 3} {
		c.reset()
		want := map[uint64]int64{}
		var order []uint64
		for range 2000 {
			k := uint64(r.IntN(distinct)) * 0x9e3779b97f4a7c15
			v := r.Int64N(1000) - 100
			if _, ok := want[k]; !ok {
				order = append(order, k)
			}
			want[k] += v
			c.add(k, v)
		}
		if !slices.Equal(c.keys, order) || len(c.vals) != len(order) {
			t.Fatalf("%d keys: got keys %v, want %v", distinct, c.keys, order)
		}
		for i, k := range c.keys {
			if c.vals[i] != want[k] {
				t.Fatalf("%d keys: key %x sums to %d, want %d", distinct, k, c.vals[i], want[k])
			}
		}
	}
}

// judgeTiersEveryPoint is judgeTiers without its stop at the first point
// with no line or order before it: every point judged, as before that stop.
func (b *Builder) judgeTiersEveryPoint(obs []order, lines []line) programme {
	window := int64(b.cfg.TierWindow) * usPerDay
	var p programme
	prev := -1
	for k, end := range b.tierPoints {
		from := end - window
		var spend, orders int64
		for _, l := range lines {
			if l.ts < b.cutoffEnd && l.void&voidAtCutoff == 0 && l.ts >= from && l.ts < end {
				spend += l.amount
			}
		}
		for _, o := range obs {
			if o.ts >= from && o.ts < end {
				orders++
			}
		}
		r := tierRank(b.cfg.Tiers, spend, orders)
		p.judge(k, r, prev)
		prev = r
	}
	return p
}

// judgeTiers' shortcut past a customer's first purchase gives what judging
// every point gives: random customers, new and old, quiet and busy, with
// refunds and cancelled orders, under the default tiers and under tiers
// that change often.
func TestJudgeTiersMatchesEveryPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tiers := range [][]Tier{DefaultTiers, {{"member", 0, 1}, {"silver", 5000, 2}, {"gold", 9000, 3}}} {
		b, err := NewBuilder(Config{Cutoff: time.Date(2025, 10, 2, 0, 0, 0, 0, time.UTC), Tiers: tiers})
		if err != nil {
			t.Fatal(err)
		}
		stopped := 0
		for trial := range 5000 {
			// First purchase up to 40 months before the cutoff, the last up to 2 weeks after.
			first := b.cutoffEnd - int64(rng.IntN(40*31))*usPerDay
			n := rng.IntN(12)
			var obs []order
			var lines []line
			for range n {
				ts := first + int64(rng.IntN(int((b.cutoffEnd+14*usPerDay-first)/usPerDay)+1))*usPerDay
				obs = append(obs, order{ts: ts})
				lines = append(lines, line{ts: ts, amount: int64(rng.IntN(60000)) - 5000, void: uint8(rng.IntN(8) / 7)})
			}
			slices.SortFunc(obs, func(a, c order) int { return int(a.ts - c.ts) })
			slices.SortFunc(lines, func(a, c line) int { return int(a.ts - c.ts) })
			got, want := b.judgeTiers(obs, lines), b.judgeTiersEveryPoint(obs, lines)
			if got != want {
				t.Fatalf("tiers %v, trial %d: judgeTiers %+v, every point %+v (orders %v)", tiers, trial, got, want, obs)
			}
			if len(obs) == 0 || obs[0].ts >= b.tierPoints[len(b.tierPoints)-1] {
				stopped++
			}
		}
		if stopped < 1000 {
			t.Errorf("only %d of 5000 customers took the shortcut", stopped)
		}
	}
}
