package features

import (
	"math"
	"slices"
	"time"
)

// recentWindows are the order counts and net amounts (cents) of the last 90
// days and the 90 before them.
type recentWindows struct {
	o90, oPrev90, s90, sPrev90 int64
}

// daysPerMonth is the mean Gregorian month.
const daysPerMonth = 365.2425 / 12

// nullable appends v, or a null when v is NaN, to a float column.
func nullable(c featureColumn, v float64) {
	fb := c.(*f64Col)
	if math.IsNaN(v) {
		fb.AppendNull()
	} else {
		fb.Append(v)
	}
}

// velocity is (now − before) / (now + before), in [−1, 1]; NaN when the
// sum is not positive.
func velocity(now, before int64) float64 {
	if now+before <= 0 {
		return math.NaN()
	}
	return float64(now-before) / float64(now+before)
}

// zoneCache converts UTC instants to local wall-clock seconds, looking the
// zone up only when an instant leaves the offset's validity range.
type zoneCache struct {
	loc        *time.Location
	start, end int64 // unix seconds of the cached offset's range, [start, end)
	offset     int64
}

func (z *zoneCache) localSeconds(us int64) int64 {
	sec := floorDiv(us, 1_000_000)
	if sec < z.start || sec >= z.end {
		t := time.Unix(sec, 0).In(z.loc)
		_, off := t.Zone()
		s, e := t.ZoneBounds()
		z.offset, z.start, z.end = int64(off), math.MinInt64, math.MaxInt64
		if !s.IsZero() {
			z.start = s.Unix()
		}
		if !e.IsZero() {
			z.end = e.Unix()
		}
	}
	return sec + z.offset
}

// appendBehaviour writes the behavioural, price-sensitivity and returns
// features of one customer from its orders (by the cutoff, sorted by time)
// and lines; x is the BTYD repeat count and tenure the days since the first order.
func (b *Builder) appendBehaviour(next func() featureColumn, lines []line, obs []order, w recentWindows, x int64, tenure float64) {
	n := float64(len(obs))
	i64 := func(v int64) { next().(*i64Col).Append(v) }
	f64 := func(v float64) { nullable(next(), v) }

	// Repeat purchase and frequency.
	i64(min(x, 1))
	f64(float64(x) / n)
	f64(n / max(1, (tenure+1)/daysPerMonth))
	// Order value trend: mean order of the newer half over the older half, − 1.
	trend := math.NaN()
	if h := len(obs) / 2; h >= 1 {
		var older, newer int64
		for i := range h {
			older += obs[i].value
			newer += obs[len(obs)-1-i].value
		}
		if older > 0 {
			trend = float64(newer)/float64(older) - 1
		}
	}
	f64(trend)
	f64(float64(w.sPrev90) / 100)
	f64(velocity(w.s90, w.sPrev90))
	f64(velocity(w.o90, w.oPrev90))
	longest := math.NaN()
	for i := 1; i < len(b.days); i++ {
		longest = max(float64(b.days[i]-b.days[i-1]), cmpNaN(longest))
	}
	f64(longest)

	// Weekday and hour habits in the shop's time zone.
	var weekday [7]int64
	var hour [24]int64
	var weekend, evening int64
	for _, o := range obs {
		local := b.zone.localSeconds(o.ts)
		d := floorDiv(local, 86400)
		wd := (d + 3) % 7 // 1970-01-01 was a Thursday: 0 = Monday
		if wd < 0 {
			wd += 7
		}
		h := (local - d*86400) / 3600
		weekday[wd]++
		hour[h]++
		if wd >= 5 {
			weekend++
		}
		if h >= 18 {
			evening++
		}
	}
	f64(float64(weekend) / n)
	f64(float64(evening) / n)
	i64(int64(argmax(weekday[:])) + 1) // ISO: 1 = Monday … 7 = Sunday
	i64(int64(argmax(hour[:])))

	// Channel mix.
	b.chanOrders.reset()
	var withChannel int64
	for _, o := range obs {
		if o.ch != 0 {
			b.chanOrders.add(o.ch, 1)
			withChannel++
		}
	}
	var top uint64
	var topN int64
	for i, ch := range b.chanOrders.keys {
		if k := b.chanOrders.vals[i]; k > topN || k == topN && b.channelNames[ch] < b.channelNames[top] {
			top, topN = ch, k
		}
	}
	i64(int64(len(b.chanOrders.keys)))
	next().(*strCol).Append(b.channelNames[top])
	share := math.NaN()
	if withChannel > 0 {
		share = float64(topN) / float64(withChannel)
	}
	f64(share)

	// Category concentration over gross spend (0 and 1 when nothing was paid).
	var total, topCat int64
	b.catVals = b.catVals[:0]
	for _, v := range b.catSpend.vals {
		total += v
		topCat = max(topCat, v)
		b.catVals = append(b.catVals, v)
	}
	slices.Sort(b.catVals) // a fixed order: the sum is bit-for-bit repeatable
	entropy, topShare := 0.0, 1.0
	if total > 0 {
		for _, v := range b.catVals {
			if p := float64(v) / float64(total); p > 0 {
				entropy -= p * math.Log2(p)
			}
		}
		topShare = float64(topCat) / float64(total)
	}
	f64(entropy)
	f64(topShare)

	// Basket size; items are unknown when no line has a quantity.
	var items, nlines int64
	for _, o := range obs {
		items += o.items
		nlines += int64(o.nlines)
	}
	if items > 0 {
		f64(float64(items) / n)
	} else {
		f64(math.NaN())
	}
	f64(float64(nlines) / n)

	// Price sensitivity, from the discount column when the input has one.
	orderShare, spendShare, depth, fullPrice := math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if b.hasDiscount {
		var discOrders, discValue, grossValue, fullLines, buyLines int64
		var depthSum float64
		for _, o := range obs {
			grossValue += o.value
			if o.disc > 0 {
				discOrders++
				discValue += o.value
				depthSum += float64(o.disc) / float64(o.value+o.disc)
			}
		}
		for _, l := range lines {
			if l.amount >= 0 && l.ts < b.cutoffEnd && l.void&voidAtCutoff == 0 {
				buyLines++
				if l.disc == 0 {
					fullLines++
				}
			}
		}
		orderShare = float64(discOrders) / n
		if grossValue > 0 {
			spendShare = float64(discValue) / float64(grossValue)
		}
		if discOrders > 0 {
			depth = depthSum / float64(discOrders)
		}
		fullPrice = float64(fullLines) / float64(max(buyLines, 1))
	}
	f64(orderShare)
	f64(spendShare)
	f64(depth)
	f64(fullPrice)
	seen, response := b.priceResponse(lines)
	i64(seen)
	f64(response)

	// Returns by count: returned lines per purchased line.
	var bought, returned int64
	for _, l := range lines {
		if l.ts >= b.cutoffEnd || l.void&voidAtCutoff != 0 {
			continue
		}
		if l.amount >= 0 {
			bought++
		} else {
			returned++
		}
	}
	f64(float64(returned) / float64(max(bought, 1)))
}

// cmpNaN turns NaN into −Inf for max.
func cmpNaN(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(-1)
	}
	return v
}

// argmax is the index of the largest count, the first on ties.
func argmax(counts []int64) int {
	best := 0
	for i, c := range counts {
		if c > counts[best] {
			best = i
		}
	}
	return best
}
