package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churn-dev/churn/datasets"
)

// Config configures a snapshot. Cutoff is required; zero Horizon means 90 days.
type Config struct {
	Cutoff  time.Time // the cutoff day (its time of day is ignored), UTC
	Horizon int       // label horizon in days; default 90
	// Labelled adds label columns. The caller sets it only when the data
	// covers the whole horizon (cutoff + horizon ≤ last day of data).
	Labelled bool
	// CancelWindow is the number of days within which refunds that net an
	// order to zero or less make it a cancelled order, not a purchase
	// (for recency, frequency, spend and labels); default 30, negative
	// disables the rule.
	CancelWindow int
	// Location is the shop's time zone for weekday and hour habits; nil is UTC.
	Location *time.Location
	// SatisfactionWeights weighs the survey items nps, csat and ces in the
	// satisfaction index; nil weighs them equally, a missing item weighs 0.
	SatisfactionWeights map[string]float64
	// Tiers are the loyalty-programme tiers, lowest first (default
	// DefaultTiers), judged over TierWindow days (default 365).
	Tiers      []Tier
	TierWindow int
	// PriceIncreases are the products' list-price increases (PriceBook.Increases),
	// for the price-increase response; nil: none known. Add then needs product_id.
	PriceIncreases map[uint64][]int64
}

// DefaultCancelWindow is the cancellation window in days when none is configured.
const DefaultCancelWindow = 30

// DefaultHorizon is the label horizon in days when none is configured.
const DefaultHorizon = 90

// Validate reports a configuration error.
func (c Config) Validate() error {
	if c.Cutoff.IsZero() {
		return errors.New("features: cutoff is required")
	}
	if c.Horizon < 0 || c.Horizon > 3660 {
		return fmt.Errorf("features: horizon must be 1..3660 days, got %d", c.Horizon)
	}
	if c.TierWindow < 0 || c.TierWindow > 3660 {
		return fmt.Errorf("features: tier window must be 1..3660 days, got %d", c.TierWindow)
	}
	if c.Tiers != nil {
		if _, err := ParseTiers(FormatTiers(c.Tiers)); err != nil {
			return fmt.Errorf("features: %w", err)
		}
	}
	return validateWeights(c.SatisfactionWeights)
}

const usPerDay = int64(24 * time.Hour / time.Microsecond)

type line struct {
	ts     int64
	amount int64
	disc   int64  // discount given on the line, cents ≥ 0
	pe, pr int64  // loyalty points earned and redeemed
	prod   uint64 // product hash, only with Config.PriceIncreases
	order  uint64
	cat    uint64
	ch     uint64 // channel (0: none)
	qty    int32
	void   uint8 // voidAtCutoff, voidAtHorizon: the line's order was cancelled, as known then
}

// Bits of line.void: the order was cancelled in full, as known by the
// cutoff (features) and by the end of the horizon (labels).
const (
	voidAtCutoff  = 1
	voidAtHorizon = 2
)

// Builder aggregates sorted transaction batches into feature rows.
type Builder struct {
	cfg        Config
	cutoffDay  int64 // days since epoch
	cutoffEnd  int64 // µs: first instant after the cutoff day
	horizonEnd int64 // µs
	schema     *arrow.Schema
	cols       []featureColumn // the feature columns being filled, one per schema field
	cur        string
	lines      []line
	started    bool
	own        *LineDecoder // Add's decoder

	tierPoints   []int64 // instants the tier is judged at, newest first
	zone         zoneCache
	hasDiscount  bool              // the input has a discount column
	hasPoints    bool              // … loyalty points columns
	channelNames map[uint64]string // channel hash → name

	kpi        *KPIBook // CollectKPIs: customers go to the book too
	kpiOnly    bool     // … and not to rows
	kpiScratch kpiScratch

	// scratch
	lineTS, lineCum []int64
	catVals         []int64
	seen            []int64
	catSpend        smallSums
	chanOrders      smallSums
	orders          []order
	days            []int64
	daySums         []int64
	nets            map[uint64]orderNet
	netList         []keyedNet

	feedback []datasets.Feedback // this bucket's, sorted by customer then time
	fbPos    int
}

// SetFeedback gives the builder the feedback rows of its customers, sorted
// by customer id then time (as the warehouse stores them); rows after the
// cutoff are ignored. Without feedback the attitudinal features are empty.
func (b *Builder) SetFeedback(rows []datasets.Feedback) {
	b.feedback, b.fbPos = rows, 0
}

// customerFeedback returns the feedback rows of customer id; customers come
// in ascending order, so one pointer walks the sorted rows.
func (b *Builder) customerFeedback(id string) []datasets.Feedback {
	for b.fbPos < len(b.feedback) && b.feedback[b.fbPos].CustomerID < id {
		b.fbPos++
	}
	start := b.fbPos
	for b.fbPos < len(b.feedback) && b.feedback[b.fbPos].CustomerID == id {
		b.fbPos++
	}
	return b.feedback[start:b.fbPos]
}

// orderNet is an order's purchase total and first time, and the refunds
// of it within the cancellation window.
type orderNet struct {
	first, gross, refunds int64
}

type order struct {
	ts     int64
	value  int64 // gross amount of its purchase lines
	disc   int64 // discount over its lines
	items  int64 // quantity over its lines
	key    uint64
	ch     uint64 // channel of its first line
	nlines int32
}

// NewBuilder returns a Builder; release it with Release.
func NewBuilder(cfg Config) (*Builder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Horizon == 0 {
		cfg.Horizon = DefaultHorizon
	}
	if cfg.CancelWindow == 0 {
		cfg.CancelWindow = DefaultCancelWindow
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Tiers == nil {
		cfg.Tiers = DefaultTiers
	}
	if cfg.TierWindow == 0 {
		cfg.TierWindow = DefaultTierWindow
	}
	c := cfg.Cutoff.UTC()
	day := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC).UnixMicro() / usPerDay
	schema := BuilderSchema(cfg.Labelled)
	cols := make([]featureColumn, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = newColumn(f.Type)
	}
	return &Builder{cfg: cfg, cutoffDay: day, cutoffEnd: (day + 1) * usPerDay,
		horizonEnd: (day + 1 + int64(cfg.Horizon)) * usPerDay,
		schema:     schema,
		cols:       cols,
		nets:       map[uint64]orderNet{},
		tierPoints: tierPoints(day), zone: zoneCache{loc: cfg.Location, start: 1, end: 0},
	}, nil
}

// Release drops the builder's column buffers (records Finish returned keep
// theirs); the builder is not used after it.
func (b *Builder) Release() { b.cols = nil }

// fnv1a is the 64-bit FNV-1a hash of s (hash/fnv's New64a, without its
// interface and the copy of s).
func fnv1a[T string | []byte](s T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// InputColumns are the transaction columns Add reads; others may be left out.
var InputColumns = []string{datasets.ColCustomerID, datasets.ColOrderID, datasets.ColTS, datasets.ColAmountCents,
	datasets.ColQuantity, datasets.ColCategory, datasets.ColChannel, datasets.ColLineKind, datasets.ColDiscount,
	datasets.ColPointsEarned, datasets.ColPointsRedeemed}

// KPIColumns are the transaction columns the KPI mode (CollectKPIs) needs.
var KPIColumns = []string{datasets.ColCustomerID, datasets.ColOrderID, datasets.ColTS, datasets.ColAmountCents, datasets.ColLineKind}

// Reserve makes room for n feature rows (e.g. the customers expected in a
// bucket), so the column buffers do not grow by copying.
func (b *Builder) Reserve(n int) {
	for _, c := range b.cols {
		c.reserve(n)
	}
}

// Add consumes one batch with at least customer_id, ts and amount_cents
// (order_id and category are optional). Batches must be sorted by customer_id,
// then ts, across calls; a customer may span batches.
func (b *Builder) Add(rec arrow.RecordBatch) error {
	if b.own == nil {
		b.own = NewLineDecoder(len(b.cfg.PriceIncreases) > 0)
	}
	ls, err := b.own.Decode(rec)
	if err != nil {
		return err
	}
	b.AddLines(ls)
	return nil
}

// LineDecoder reads warehouse rows into customers' purchase lines once,
// for every builder of a pass over the same rows (Builder.AddLines):
// builders of several cutoffs then share the reading of the columns, the
// hashing of orders, categories and channels.
type LineDecoder struct {
	prices    bool   // hash product ids (for builders with PriceIncreases)
	cur       string // the current customer's id, owned
	started   bool
	rowInCust int
	ls        Lines
}

// Lines are a chunk's purchase lines by customer (Decode), valid until the
// decoder's next Decode.
type Lines struct {
	runs                   []lineRun
	lines                  []line
	channels               map[uint64]string // channel hash → name, of every chunk so far
	hasDiscount, hasPoints bool
}

// lineRun is one customer's lines of a chunk: lines[lo:hi].
type lineRun struct {
	id     string // owned: builders keep it
	lo, hi int
}

// NewLineDecoder returns a decoder; prices hashes the product ids, which
// builders with Config.PriceIncreases need.
func NewLineDecoder(prices bool) *LineDecoder {
	return &LineDecoder{prices: prices, ls: Lines{channels: map[uint64]string{}}}
}

// Decode reads one Arrow batch (as Builder.Add takes it); see DecodeColumns.
func (d *LineDecoder) Decode(rec arrow.RecordBatch) (*Lines, error) {
	c, err := datasets.ChunkFromRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	return d.DecodeColumns(c)
}

// wordHash hashes a text column's values (FNV-1a), remembering the last
// one: the warehouse's text repeats from row to row (a customer's category,
// channel, product), and comparing a few bytes costs less than hashing
// them.
type wordHash struct {
	last []byte
	h    uint64
	ok   bool
}

// of returns v's hash and whether v differs from the previous value.
func (w *wordHash) of(v []byte) (uint64, bool) {
	if w.ok && string(v) == string(w.last) {
		return w.h, false
	}
	w.last, w.h, w.ok = v, fnv1a(v), true
	return w.h, true
}

// keyHash is a 64-bit hash of s read eight bytes at a time, each word
// folded in through splitmix64's finaliser (a bijection), for keys only
// ever compared for equality — order ids, which change every line or two.
// FNV-1a's multiply a byte made the order ids' hashing a quarter of the
// KPI pass's line decoding. Category, channel and product hashes stay
// FNV-1a (the price book keys products by it).
func keyHash(s []byte) uint64 {
	h := uint64(len(s)) * 0x9e3779b97f4a7c15
	for len(s) >= 8 {
		h = mix64(h ^ binary.LittleEndian.Uint64(s))
		s = s[8:]
	}
	var t uint64
	for i, c := range s {
		t |= uint64(c) << (8 * i)
	}
	return mix64(h ^ t)
}

// mix64 is splitmix64's finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// DecodeColumns reads one chunk of rows sorted by customer_id (then ts):
// every row but the non-product ones, whatever its time (each builder
// keeps those before its horizon).
func (d *LineDecoder) DecodeColumns(c *datasets.ColumnChunk) (*Lines, error) {
	cust, _ := c.Text(datasets.ColCustomerID)
	ts, amt := c.Int64s(datasets.ColTS), c.Int64s(datasets.ColAmountCents)
	if cust == nil || ts == nil || amt == nil {
		return nil, fmt.Errorf("features: rows need %s (string), %s (timestamp) and %s (int64); they have %v",
			datasets.ColCustomerID, datasets.ColTS, datasets.ColAmountCents, c.Names())
	}
	order, orderValid := c.Text(datasets.ColOrderID)
	cat, catValid := c.Text(datasets.ColCategory)
	kind, _ := c.Text(datasets.ColLineKind) // a null kind is the empty one
	ch, chValid := c.Text(datasets.ColChannel)
	var prod [][]byte
	var prodValid []bool
	if d.prices {
		prod, prodValid = c.Text(datasets.ColProductID)
	}
	qty, disc := c.Int32s(datasets.ColQuantity), c.Int64s(datasets.ColDiscount)
	pe, pr := c.Int64s(datasets.ColPointsEarned), c.Int64s(datasets.ColPointsRedeemed)
	ls := &d.ls
	ls.runs, ls.lines = ls.runs[:0], ls.lines[:0]
	ls.hasDiscount = ls.hasDiscount || disc != nil
	ls.hasPoints = ls.hasPoints || pe != nil || pr != nil
	valid := func(v []bool, i int) bool { return v == nil || v[i] }
	var orderH, catH, chH, prodH wordHash
	var lastKind []byte
	lastNonProduct, kindSeen := false, false
	for i := range c.N {
		if id := cust[i]; !d.started || string(id) != d.cur {
			if d.started && string(id) < d.cur {
				return nil, fmt.Errorf("features: input not sorted by customer_id (%q after %q)", id, d.cur)
			}
			d.cur, d.started, d.rowInCust = string(id), true, 0
			ls.runs = append(ls.runs, lineRun{id: d.cur, lo: len(ls.lines), hi: len(ls.lines)})
		} else if len(ls.runs) == 0 {
			ls.runs = append(ls.runs, lineRun{id: d.cur, lo: len(ls.lines), hi: len(ls.lines)})
		}
		d.rowInCust++
		if kind != nil {
			if k := kind[i]; !kindSeen || string(k) != string(lastKind) {
				lastKind, lastNonProduct, kindSeen = k, datasets.IsNonProduct(string(k)), true
			}
			if lastNonProduct {
				continue // shipping, fees, vouchers, adjustments are not purchases
			}
		}
		l := line{ts: ts[i], amount: amt[i]}
		if order != nil && valid(orderValid, i) && len(order[i]) > 0 {
			// An order's lines are in a row: a new id is hashed (keyHash)
			// once, here rather than in wordHash.of, which stays inlined.
			if o := order[i]; !orderH.ok || string(o) != string(orderH.last) {
				orderH.last, orderH.h, orderH.ok = o, keyHash(o), true
			}
			l.order = orderH.h
		} else {
			l.order = uint64(d.rowInCust) | 1<<63 // each row is its own order
		}
		if cat != nil && valid(catValid, i) {
			l.cat, _ = catH.of(cat[i])
		}
		if ch != nil && valid(chValid, i) && len(ch[i]) > 0 {
			var changed bool
			if l.ch, changed = chH.of(ch[i]); changed {
				if _, ok := ls.channels[l.ch]; !ok {
					ls.channels[l.ch] = string(ch[i])
				}
			}
		}
		if qty != nil {
			l.qty = qty[i]
		}
		if disc != nil {
			l.disc = max(disc[i], -disc[i])
		}
		if prod != nil && valid(prodValid, i) && len(prod[i]) > 0 {
			l.prod, _ = prodH.of(prod[i])
		}
		if pe != nil {
			l.pe = pe[i]
		}
		if pr != nil {
			l.pr = pr[i]
		}
		ls.lines = append(ls.lines, l)
		ls.runs[len(ls.runs)-1].hi = len(ls.lines)
	}
	return ls, nil
}

// AddLines consumes one decoded batch, as Add does the batch itself; the
// builders that share a decoder take its batches in the same order.
func (b *Builder) AddLines(ls *Lines) {
	b.hasDiscount, b.hasPoints, b.channelNames = ls.hasDiscount, ls.hasPoints, ls.channels
	for _, r := range ls.runs {
		if !b.started || r.id != b.cur {
			if b.started {
				b.flush()
			}
			b.cur = r.id // the decoder's own copy
			b.started = true
		}
		for _, l := range ls.lines[r.lo:r.hi] {
			if l.ts < b.horizonEnd {
				b.lines = append(b.lines, l)
			}
		}
	}
}

// Finish flushes the last customer and returns the feature rows.
func (b *Builder) Finish() arrow.RecordBatch {
	if b.started {
		b.flush()
		b.started = false
	}
	arrs := make([]arrow.Array, len(b.cols))
	for i, c := range b.cols {
		arrs[i] = c.array()
		defer arrs[i].Release()
	}
	return array.NewRecordBatch(b.schema, arrs, int64(arrs[0].Len()))
}

// markCancelled sets bit on the lines of every order that refunds within
// the cancellation window (and before bound, so nothing from after the
// time of knowledge leaks in) net to zero or less: a cancelled order.
func (b *Builder) markCancelled(lines []line, bound int64, bit uint8) {
	if b.cfg.CancelWindow < 0 || !refundsBefore(lines, bound) {
		return // without a refund no order nets to zero: most customers
	}
	if len(lines) > maxListedLines {
		b.markCancelledMap(lines, bound, bit)
		return
	}
	// A customer has a few orders: a list searched from its end (an
	// order's lines are adjacent) beats a map. Same sums, same marks.
	window := int64(b.cfg.CancelWindow) * usPerDay
	nets := b.netList[:0]
	find := func(key uint64) int {
		for j := len(nets) - 1; j >= 0; j-- {
			if nets[j].key == key {
				return j
			}
		}
		return -1
	}
	for _, l := range lines {
		if l.ts >= bound || l.amount < 0 {
			continue
		}
		j := find(l.order)
		if j < 0 {
			nets = append(nets, keyedNet{key: l.order, orderNet: orderNet{first: l.ts}})
			j = len(nets) - 1
		} else if l.ts < nets[j].first {
			nets[j].first = l.ts
		}
		nets[j].gross += l.amount
	}
	cancelled := false // an order refunded in full: most customers have none
	for _, l := range lines {
		if l.amount < 0 && l.ts < bound {
			if j := find(l.order); j >= 0 && l.ts <= nets[j].first+window {
				nets[j].refunds -= l.amount
				cancelled = cancelled || nets[j].gross > 0 && nets[j].refunds >= nets[j].gross
			}
		}
	}
	for i := 0; cancelled && i < len(lines); i++ {
		if j := find(lines[i].order); j >= 0 && nets[j].gross > 0 && nets[j].refunds >= nets[j].gross {
			lines[i].void |= bit
		}
	}
	b.netList = nets
}

// purchaseBefore says whether any of lines is a purchase (amount ≥ 0) before bound.
func purchaseBefore(lines []line, bound int64) bool {
	for _, l := range lines {
		if l.amount >= 0 && l.ts < bound {
			return true
		}
	}
	return false
}

// refundsBefore says whether any of lines is a refund (amount < 0) before bound.
func refundsBefore(lines []line, bound int64) bool {
	for _, l := range lines {
		if l.amount < 0 && l.ts < bound {
			return true
		}
	}
	return false
}

// maxListedLines is the most lines a customer may have for markCancelled's
// list; more go through a map.
const maxListedLines = 256

// keyedNet is an order's net in markCancelled's list.
type keyedNet struct {
	key uint64
	orderNet
}

// markCancelledMap is markCancelled through a map, for customers with many lines.
func (b *Builder) markCancelledMap(lines []line, bound int64, bit uint8) {
	window := int64(b.cfg.CancelWindow) * usPerDay
	clear(b.nets)
	for _, l := range lines {
		if l.ts >= bound || l.amount < 0 {
			continue
		}
		n, ok := b.nets[l.order]
		if !ok || l.ts < n.first {
			n.first = l.ts
		}
		n.gross += l.amount
		b.nets[l.order] = n
	}
	cancelled := false
	for _, l := range lines {
		if n, ok := b.nets[l.order]; ok && l.amount < 0 && l.ts < bound && l.ts <= n.first+window {
			n.refunds -= l.amount
			b.nets[l.order] = n
			cancelled = cancelled || n.gross > 0 && n.refunds >= n.gross
		}
	}
	for i := 0; cancelled && i < len(lines); i++ {
		if n, ok := b.nets[lines[i].order]; ok && n.gross > 0 && n.refunds >= n.gross {
			lines[i].void |= bit
		}
	}
}

// groupOrders collapses purchase lines (amount ≥ 0: a free item is still a
// purchase; negative amounts are refunds) with ts in [from, to) into
// orders sorted by time; an order's time is its earliest line. Lines with
// a void bit in skip (cancelled orders) are left out.
func groupOrders(dst []order, lines []line, from, to int64, skip uint8) []order {
	dst = dst[:0]
	for _, l := range lines {
		if l.amount < 0 || l.ts < from || l.ts >= to || l.void&skip != 0 {
			continue
		}
		found := false
		for j := len(dst) - 1; j >= 0 && j >= len(dst)-8; j-- { // lines of an order are adjacent
			if o := &dst[j]; o.key == l.order {
				o.value += l.amount
				o.disc += l.disc
				o.items += int64(l.qty)
				o.nlines++
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, order{ts: l.ts, value: l.amount, key: l.order, disc: l.disc, items: int64(l.qty), ch: l.ch, nlines: 1})
		}
	}
	slices.SortStableFunc(dst, func(a, b order) int {
		if a.ts < b.ts {
			return -1
		} else if a.ts > b.ts {
			return 1
		}
		return 0
	})
	return dst
}

func (b *Builder) flush() {
	lines := b.lines
	b.lines = b.lines[:0]
	if !purchaseBefore(lines, b.cutoffEnd) {
		return // not a customer yet (an early cutoff's snapshot leaves out many): no orders to mark or group
	}
	b.markCancelled(lines, b.cutoffEnd, voidAtCutoff)
	if b.cfg.Labelled {
		b.markCancelled(lines, b.horizonEnd, voidAtHorizon)
	}
	b.orders = groupOrders(b.orders, lines, math.MinInt64, b.cutoffEnd, voidAtCutoff)
	obs := b.orders
	if len(obs) == 0 {
		return // no purchase observed by the cutoff: not a customer yet
	}
	fb := b.customerFeedback(b.cur)
	if b.kpi != nil {
		b.addKPIs(obs, lines, fb)
		if b.kpiOnly {
			return
		}
	}
	fs := b.cols
	k := 0
	next := func() featureColumn { k++; return fs[k-1] }
	cutoffDay := b.cutoffDay
	day := func(ts int64) int64 { return floorDiv(ts, usPerDay) }

	var spend, gross, refunds int64
	b.catSpend.reset()
	for _, l := range lines {
		if l.ts >= b.cutoffEnd || l.void&voidAtCutoff != 0 {
			continue
		}
		spend += l.amount
		if l.amount >= 0 {
			gross += l.amount
			b.catSpend.add(l.cat, l.amount)
		} else {
			refunds -= l.amount
		}
	}
	firstDay, lastDay := day(obs[0].ts), day(obs[len(obs)-1].ts)

	// BTYD summary: distinct purchase days (Fader, Hardie & Lee 2005 conventions).
	// Same-day orders count once; their amounts are summed (daySums).
	b.days, b.daySums = b.days[:0], b.daySums[:0]
	for _, o := range obs {
		if d := day(o.ts); len(b.days) == 0 || b.days[len(b.days)-1] != d {
			b.days = append(b.days, d)
			b.daySums = append(b.daySums, 0)
		}
		b.daySums[len(b.daySums)-1] += o.value
	}
	x := int64(len(b.days) - 1)
	meanRepeat := 0.0
	if x > 0 {
		var repeatSpend int64
		for _, v := range b.daySums[1:] {
			repeatSpend += v
		}
		meanRepeat = float64(repeatSpend) / float64(x) / 100
	}

	// Orders and net amounts in the last 30, 90 and 365 days and the 90
	// before the last 90, in one pass over the orders and one over the lines.
	from30, from90, from180, from365 := b.cutoffEnd-30*usPerDay, b.cutoffEnd-90*usPerDay, b.cutoffEnd-180*usPerDay, b.cutoffEnd-365*usPerDay
	var o30, o90, o365, oPrev90, s30, s90, s365, sPrev90 int64
	activeMonths, lastMonth := 0, math.MinInt // distinct months of the orders (sorted by time) in 365 days
	for _, o := range obs {
		if o.ts < from365 {
			continue
		}
		o365++
		if m := monthOfMicros(o.ts); m != lastMonth {
			activeMonths, lastMonth = activeMonths+1, m
		}
		switch {
		case o.ts >= from30:
			o30++
			o90++
		case o.ts >= from90:
			o90++
		case o.ts >= from180:
			oPrev90++
		}
	}
	for _, l := range lines {
		if l.ts < from365 || l.ts >= b.cutoffEnd || l.void&voidAtCutoff != 0 {
			continue
		}
		s365 += l.amount
		switch {
		case l.ts >= from30:
			s30 += l.amount
			s90 += l.amount
		case l.ts >= from90:
			s90 += l.amount
		case l.ts >= from180:
			sPrev90 += l.amount
		}
	}

	recency := float64(cutoffDay - lastDay)
	next().(*strCol).Append(b.cur)
	next().(*date32Col).Append(arrow.Date32(firstDay))
	next().(*date32Col).Append(arrow.Date32(lastDay))
	next().(*f64Col).Append(recency)
	next().(*f64Col).Append(float64(cutoffDay - firstDay))
	next().(*i64Col).Append(int64(len(obs)))
	next().(*i64Col).Append(spend)
	next().(*f64Col).Append(float64(gross) / float64(len(obs)) / 100)
	next().(*i64Col).Append(x)
	next().(*f64Col).Append(float64(lastDay - firstDay))
	next().(*f64Col).Append(float64(cutoffDay - firstDay))
	next().(*f64Col).Append(meanRepeat)
	next().(*i64Col).Append(o30)
	next().(*i64Col).Append(o90)
	next().(*i64Col).Append(o365)
	next().(*i64Col).Append(oPrev90)
	next().(*f64Col).Append(float64(s30) / 100)
	next().(*f64Col).Append(float64(s90) / 100)
	next().(*f64Col).Append(float64(s365) / 100)
	next().(*i64Col).Append(o90 - oPrev90)

	// Inter-purchase gaps between distinct purchase days.
	gm, gs, od := next().(*f64Col), next().(*f64Col), next().(*f64Col)
	if n := len(b.days) - 1; n >= 1 {
		mean := float64(b.days[n]-b.days[0]) / float64(n)
		gm.Append(mean)
		if n >= 2 {
			var ss float64
			for i := 1; i <= n; i++ {
				d := float64(b.days[i]-b.days[i-1]) - mean
				ss += d * d
			}
			gs.Append(math.Sqrt(ss / float64(n)))
		} else {
			gs.AppendNull()
		}
		od.Append(recency / mean) // mean ≥ 1 day: days are distinct
	} else {
		gm.AppendNull()
		gs.AppendNull()
		od.AppendNull()
	}
	next().(*i64Col).Append(int64(activeMonths))
	next().(*i64Col).Append(int64(len(b.catSpend.keys)))
	rr := 0.0
	if gross > 0 && refunds > 0 {
		rr = float64(refunds) / float64(gross)
	}
	next().(*f64Col).Append(rr)
	b.appendBehaviour(next, lines, obs, recentWindows{o90: o90, oPrev90: oPrev90, s90: s90, sPrev90: sPrev90}, x, float64(cutoffDay-firstDay))
	b.appendAttitude(next, fb, lines)
	p := b.judgeTiers(obs, lines)
	next().(*strCol).Append(TierName(b.cfg.Tiers, p.rank))
	next().(*i64Col).Append(int64(p.rank))
	next().(*i64Col).Append(int64(p.monthsInTier))
	next().(*i64Col).Append(int64(p.changes))
	b.appendPoints(next, lines)
	sub := b.judgeSubscription(fb)
	b.appendSubscription(next, sub)

	if b.cfg.Labelled {
		fut := groupOrders(b.orders[len(b.orders):], lines, b.cutoffEnd, b.horizonEnd, voidAtHorizon)
		var fs int64
		for _, l := range lines {
			if l.ts >= b.cutoffEnd && l.ts < b.horizonEnd && l.void&voidAtHorizon == 0 {
				fs += l.amount
			}
		}
		futDays := int64(0)
		for i, o := range fut {
			if i == 0 || day(o.ts) != day(fut[i-1].ts) {
				futDays++
			}
		}
		next().(*boolCol).Append(len(fut) == 0)
		next().(*i64Col).Append(int64(len(fut)))
		next().(*i64Col).Append(fs)
		next().(*i64Col).Append(futDays)
		next().(*boolCol).Append(sub.cancelled)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// RepeatPurchaseDays returns, for sorted transaction chunks, the UTC day
// (days since the epoch) of every repeat purchase day: each customer's
// distinct purchase days after the first, in input order. Summed by week it
// gives the cumulative repeat transactions of a BTYD tracking plot.
func RepeatPurchaseDays(chunks iter.Seq2[*datasets.ColumnChunk, error]) ([]int64, error) {
	var out []int64
	var first, last int64
	err := eachPurchaseDay(chunks, func(_ string, newCustomer bool, d int64) {
		if newCustomer {
			first, last = d, d
			return
		}
		if d != last && d != first {
			out = append(out, d)
		}
		last = d
	})
	return out, err
}

// CohortRepeatDays is RepeatPurchaseDays for the customers whose first
// purchase day is at most lastFirst, keeping repeat days before end (days
// since the epoch), and also returns those customers' first purchase days:
// the calibration cohort of a tracking plot.
func CohortRepeatDays(chunks iter.Seq2[*datasets.ColumnChunk, error], lastFirst, end int64) (repeat, first []int64, err error) {
	var f, last int64
	err = eachPurchaseDay(chunks, func(_ string, newCustomer bool, d int64) {
		if newCustomer {
			f, last = d, d
			if f <= lastFirst {
				first = append(first, f)
			}
			return
		}
		if f <= lastFirst && d != last && d != f && d < end {
			repeat = append(repeat, d)
		}
		last = d
	})
	return repeat, first, err
}

// eachPurchaseDay calls fn for every purchase row (amount ≥ 0) of sorted
// transaction chunks with the row's UTC day; newCustomer marks a
// customer's first row. It fails if the chunks are not sorted by customer.
func eachPurchaseDay(chunks iter.Seq2[*datasets.ColumnChunk, error], fn func(id string, newCustomer bool, day int64)) error {
	cur, started := "", false
	for c, err := range chunks {
		if err != nil {
			return err
		}
		ids, _ := c.Text(datasets.ColCustomerID) // a null is nil: "", as the Arrow readers give it
		ts, amt := c.Int64s(datasets.ColTS), c.Int64s(datasets.ColAmountCents)
		if ids == nil || ts == nil || amt == nil {
			return fmt.Errorf("features: transactions need text %s, timestamp %s and int64 %s; have %v", datasets.ColCustomerID, datasets.ColTS, datasets.ColAmountCents, c.Names())
		}
		ids, ts, amt = ids[:c.N], ts[:c.N], amt[:c.N]
		for i, a := range amt {
			if a < 0 {
				continue
			}
			d := floorDiv(ts[i], usPerDay)
			if id := ids[i]; !started || string(id) != cur {
				if started && string(id) < cur {
					return fmt.Errorf("features: input not sorted by customer_id (%q after %q)", id, cur)
				}
				cur, started = string(id), true
				fn(cur, true, d)
				continue
			}
			fn(cur, false, d)
		}
	}
	return nil
}

// DiscreteSummary returns the BG/BB summary of sorted transaction chunks at
// a cutoff day with opportunities of unitDays days: opportunity 0 holds a
// customer's first purchase day, opportunities 1..n follow it up to and
// including the cutoff day (n = ⌊(cutoff − first)/unitDays⌋), x counts the
// opportunities 1..n with a purchase and t_x is the last of them (0 if none).
// Customers whose first purchase is after the cutoff are left out.
func DiscreteSummary(chunks iter.Seq2[*datasets.ColumnChunk, error], cutoff time.Time, unitDays int) (ids []string, x, tx, n []float64, err error) {
	s, err := DiscreteHoldout(chunks, cutoff, time.Time{}, unitDays)
	return s.IDs, s.X, s.Tx, s.N, err
}

// Discrete is a BG/BB calibration summary with, optionally, the holdout:
// NStar opportunities after n up to the holdout end and XStar of them with
// a purchase.
type Discrete struct {
	IDs                    []string
	X, Tx, N, XStar, NStar []float64
}

// DiscreteHoldout is DiscreteSummary plus, when holdoutEnd is after the
// cutoff, each customer's holdout opportunities n+1 … ⌊(holdoutEnd − first)/unit⌋
// and the number of them with a purchase.
func DiscreteHoldout(chunks iter.Seq2[*datasets.ColumnChunk, error], cutoff, holdoutEnd time.Time, unitDays int) (Discrete, error) {
	var out Discrete
	if unitDays < 1 {
		return out, fmt.Errorf("features: unit of %d days", unitDays)
	}
	dayOf := func(t time.Time) int64 {
		t = t.UTC()
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	}
	cutDay := dayOf(cutoff)
	holdDay := int64(math.MinInt64)
	if holdoutEnd.After(cutoff) {
		holdDay = dayOf(holdoutEnd)
	}
	u := int64(unitDays)
	var cur string
	var first, lastOpp, count, lastHold, countHold int64
	started := false
	flush := func() {
		if started && first <= cutDay {
			n := (cutDay - first) / u
			out.IDs = append(out.IDs, cur)
			out.X, out.Tx, out.N = append(out.X, float64(count)), append(out.Tx, float64(lastOpp)), append(out.N, float64(n))
			if holdDay != math.MinInt64 {
				out.XStar = append(out.XStar, float64(countHold))
				out.NStar = append(out.NStar, float64((holdDay-first)/u-n))
			}
		}
	}
	err := eachPurchaseDay(chunks, func(id string, newCustomer bool, d int64) {
		if newCustomer {
			flush()
			cur, first, lastOpp, count, lastHold, countHold, started = id, d, 0, 0, 0, 0, true
			return
		}
		opp := (d - first) / u
		if d <= cutDay {
			if opp > lastOpp {
				lastOpp, count = opp, count+1
			}
		} else if d <= holdDay && opp > (cutDay-first)/u && opp > lastHold {
			lastHold, countHold = opp, countHold+1
		}
	})
	if err != nil {
		return out, err
	}
	flush()
	return out, nil
}

// smallSums adds int64 values by key: a customer's categories or channels,
// few, in a list searched from its newest key; past smallSumsList keys a
// map finds them.
type smallSums struct {
	keys []uint64
	vals []int64
	idx  map[uint64]int // key → index, while len(keys) > smallSumsList
}

const smallSumsList = 32

func (c *smallSums) reset() {
	c.keys, c.vals = c.keys[:0], c.vals[:0]
	if c.idx != nil {
		clear(c.idx)
	}
}

func (c *smallSums) add(k uint64, v int64) {
	if len(c.keys) > smallSumsList {
		if i, ok := c.idx[k]; ok {
			c.vals[i] += v
			return
		}
		c.idx[k] = len(c.keys)
		c.keys, c.vals = append(c.keys, k), append(c.vals, v)
		return
	}
	for i := len(c.keys) - 1; i >= 0; i-- {
		if c.keys[i] == k {
			c.vals[i] += v
			return
		}
	}
	c.keys, c.vals = append(c.keys, k), append(c.vals, v)
	if len(c.keys) > smallSumsList {
		if c.idx == nil {
			c.idx = make(map[uint64]int)
		}
		for i, k := range c.keys {
			c.idx[k] = i
		}
	}
}
