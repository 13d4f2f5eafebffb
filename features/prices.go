package features

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churn-dev/churn/datasets"
)

// Price increases: a product's mean list unit price in a calendar month
// rose by at least PriceIncreaseThreshold over the month before, both
// months with at least PriceMinLines priced purchase lines. Only months
// complete by the cutoff count.
const (
	PriceIncreaseThreshold = 0.05
	PriceMinLines          = 3
)

// PriceColumns are the warehouse columns a PriceBook reads.
var PriceColumns = []string{datasets.ColProductID, datasets.ColTS, datasets.ColAmountCents, datasets.ColQuantity, datasets.ColUnitPrice}

type priceCell struct {
	sum, n int64 // list unit prices (cents) and their count
}

// PriceBook accumulates each product's monthly mean list unit price from
// warehouse batches (one book per bucket; Merge joins them).
type PriceBook struct {
	first, last int // months: the data's first and the last complete one before the cutoff
	months      map[uint64][]priceCell
}

// NewPriceBook returns an empty book for the complete months from the
// month of first to the month before the cutoff's (the cutoff's own month
// is complete only when the cutoff is its last day).
func NewPriceBook(first, cutoff time.Time) *PriceBook {
	last := MonthIndex(cutoff)
	if cutoff.UTC().AddDate(0, 0, 1).Day() != 1 {
		last--
	}
	return &PriceBook{first: MonthIndex(first), last: last, months: map[uint64][]priceCell{}}
}

// Add reads the priced purchase lines (quantity > 0, amount ≥ 0,
// unit_price_cents > 0) of one batch with PriceColumns.
func (p *PriceBook) Add(rec arrow.RecordBatch) error {
	sc := rec.Schema()
	col := func(name string) arrow.Array { return datasets.Column(rec, name) }
	prod, ok1 := col(datasets.ColProductID).(*array.String)
	ts, ok2 := col(datasets.ColTS).(*array.Timestamp)
	amt, ok3 := col(datasets.ColAmountCents).(*array.Int64)
	qty, ok4 := col(datasets.ColQuantity).(*array.Int32)
	price, ok5 := col(datasets.ColUnitPrice).(*array.Int64)
	if !ok5 {
		return nil // a warehouse from before unit prices were kept
	}
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("features: price batch needs %v; schema is %s", PriceColumns, sc)
	}
	n := p.last - p.first + 1
	if n <= 0 {
		return nil
	}
	var lastProd string
	var lastKey uint64
	for i := range int(rec.NumRows()) {
		u := price.Value(i)
		if u <= 0 || qty.Value(i) <= 0 || amt.Value(i) < 0 || prod.Value(i) == "" {
			continue
		}
		m := monthOfMicros(int64(ts.Value(i))) - p.first
		if m < 0 || m >= n {
			continue
		}
		if v := prod.Value(i); v != lastProd || lastKey == 0 {
			lastProd, lastKey = v, fnv1a(v)
		}
		cells := p.months[lastKey]
		if cells == nil {
			cells = make([]priceCell, n)
			p.months[lastKey] = cells
		}
		cells[m].sum += u
		cells[m].n++
	}
	return nil
}

// Merge adds another book over the same months.
func (p *PriceBook) Merge(o *PriceBook) {
	for k, oc := range o.months {
		c := p.months[k]
		if c == nil {
			p.months[k] = oc
			continue
		}
		for m := range c {
			c[m].sum += oc[m].sum
			c[m].n += oc[m].n
		}
	}
}

// Increases returns, per product (hash of its id), the first instants (µs)
// of the months whose mean list price rose by PriceIncreaseThreshold or
// more over the month before, in time order.
func (p *PriceBook) Increases() map[uint64][]int64 {
	out := map[uint64][]int64{}
	for k, c := range p.months {
		for m := 1; m < len(c); m++ {
			a, b := c[m-1], c[m]
			if a.n < PriceMinLines || b.n < PriceMinLines {
				continue
			}
			before, after := float64(a.sum)/float64(a.n), float64(b.sum)/float64(b.n)
			if after >= before*(1+PriceIncreaseThreshold) {
				out[k] = append(out[k], MonthStart(p.first+m).UnixMicro())
			}
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// priceWindow is how long before and after a price increase a customer's
// spend is compared, and how recently before it they must have bought the product.
const (
	priceWindow   = 90 * usPerDay
	priceExposure = 180 * usPerDay
)

// priceResponse returns how many price increases the customer saw (bought
// the product in the 180 days before; the 90 days after it end by the
// cutoff) and the mean of (spend after − spend before) / (after + before)
// over them, gross spend of all products over 90 days each side (NaN
// when none, or when the customer spent nothing on either side).
func (b *Builder) priceResponse(lines []line) (int64, float64) {
	incs := b.cfg.PriceIncreases
	if len(incs) == 0 {
		return 0, math.NaN()
	}
	b.seen = b.seen[:0]
	for _, l := range lines {
		if l.prod == 0 || l.amount < 0 || l.ts >= b.cutoffEnd || l.void&voidAtCutoff != 0 {
			continue
		}
		for _, e := range incs[l.prod] {
			if e > l.ts && e-l.ts <= priceExposure && e+priceWindow <= b.cutoffEnd {
				b.seen = append(b.seen, e)
			}
		}
	}
	if len(b.seen) == 0 {
		return 0, math.NaN()
	}
	slices.Sort(b.seen)
	b.seen = slices.Compact(b.seen) // one exposure per increase date
	var sum float64
	var k int
	for _, e := range b.seen {
		var before, after int64
		for _, l := range lines {
			if l.amount < 0 || l.void&voidAtCutoff != 0 {
				continue
			}
			switch {
			case l.ts >= e-priceWindow && l.ts < e:
				before += l.amount
			case l.ts >= e && l.ts < e+priceWindow:
				after += l.amount
			}
		}
		if before+after > 0 {
			sum += float64(after-before) / float64(after+before)
			k++
		}
	}
	if k == 0 {
		return int64(len(b.seen)), math.NaN()
	}
	return int64(len(b.seen)), sum / float64(k)
}
