package datasets

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// errSkip sets a row aside without it being good or bad (a guest checkout).
var errSkip = errors.New("skip")

// DefaultCancelStatuses are the order or financial statuses that cancel a
// line (lower-cased; compared after normaliseHeader).
var DefaultCancelStatuses = []string{"cancelled", "canceled", "voided", "void", "refunded", "已取消", "取消", "已退款", "退款"}

// NonProductRule classifies a line as a non-product kind: Pattern matches the
// product code exactly (case-insensitive; a trailing * makes it a prefix) or
// the description as a whole phrase (CJK phrases as substrings).
type NonProductRule struct {
	Kind    string
	Pattern string
}

// DefaultNonProduct are the built-in non-product rules: the codes of common
// ERP and e-commerce exports (POST, DOT, M, BANK CHARGES, AMAZONFEE, gift_*
// ...) and descriptions in English and Chinese.
var DefaultNonProduct = []NonProductRule{
	{LineShipping, "POST"}, {LineShipping, "DOT"}, {LineShipping, "C2"}, {LineShipping, "postage"}, {LineShipping, "shipping"},
	{LineShipping, "delivery charge"}, {LineShipping, "delivery fee"}, {LineShipping, "carriage"}, {LineShipping, "运费"}, {LineShipping, "邮费"},
	{LineFee, "BANK CHARGES"}, {LineFee, "AMAZONFEE"}, {LineFee, "CRUK"}, {LineFee, "bank charges"}, {LineFee, "service fee"},
	{LineFee, "handling fee"}, {LineFee, "transaction fee"}, {LineFee, "amazon fee"}, {LineFee, "手续费"}, {LineFee, "服务费"},
	{LineVoucher, "gift_*"}, {LineVoucher, "gift voucher"}, {LineVoucher, "gift card"}, {LineVoucher, "voucher"}, {LineVoucher, "礼品卡"},
	{LineVoucher, "代金券"}, {LineVoucher, "优惠券"},
	{LineAdjustment, "M"}, {LineAdjustment, "D"}, {LineAdjustment, "S"}, {LineAdjustment, "B"}, {LineAdjustment, "manual"},
	{LineAdjustment, "adjustment"}, {LineAdjustment, "adjust bad debt"}, {LineAdjustment, "调整"},
}

// ParseNonProductRules parses "kind=pattern,..." ("default" adds the
// built-in rules, "none" or "" means no rules).
func ParseNonProductRules(s string) ([]NonProductRule, error) {
	var rules []NonProductRule
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch part {
		case "", "none":
			continue
		case "default":
			rules = append(rules, DefaultNonProduct...)
			continue
		}
		kind, pattern, ok := strings.Cut(part, "=")
		kind, pattern = strings.TrimSpace(kind), strings.TrimSpace(pattern)
		if !ok || pattern == "" || !slices.Contains(NonProductKinds, kind) {
			return nil, fmt.Errorf("datasets: non-product rule %q: want kind=pattern with kind one of %s", part, strings.Join(NonProductKinds, ", "))
		}
		rules = append(rules, NonProductRule{kind, pattern})
	}
	return rules, nil
}

// classifier is a compiled rule set, answering as classify does: the first
// rule that matches wins, tried as exact code, code prefix, then phrase.
type classifier struct {
	rules    []NonProductRule
	codes    map[string]int // upper-cased code → index of its first rule
	prefixes []int          // indexes of the prefix rules
	// codeLens has bit n set when a key of codes is n bytes long (bit 63:
	// 63 or more), so most product codes skip the map: an ASCII code keeps
	// its length upper-cased.
	codeLens uint64
}

func newClassifier(rules []NonProductRule) classifier {
	c := classifier{rules: rules, codes: map[string]int{}}
	for i, r := range rules {
		if strings.HasSuffix(r.Pattern, "*") {
			c.prefixes = append(c.prefixes, i)
		} else if k := strings.ToUpper(r.Pattern); !hasKey(c.codes, k) {
			c.codes[k] = i
			c.codeLens |= 1 << min(len(k), 63)
		}
	}
	return c
}

// mayBeCode says whether code could be a key of codes once upper-cased.
func (c classifier) mayBeCode(code string) bool {
	if c.codeLens&(1<<min(len(code), 63)) != 0 {
		return true
	}
	for i := 0; i < len(code); i++ {
		if code[i] >= utf8.RuneSelf {
			return true // upper-casing may change its length
		}
	}
	return false
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// kind returns the non-product kind of a line, or "".
func (c classifier) kind(code, description string) string {
	if description != "" {
		return classify(c.rules, code, description) // phrases interleave with codes: keep the rule order
	}
	if code == "" {
		return ""
	}
	best := -1
	if c.mayBeCode(code) {
		if i, ok := c.codes[strings.ToUpper(code)]; ok {
			best = i
		}
	}
	for _, i := range c.prefixes {
		if best >= 0 && i > best {
			break
		}
		if p := strings.TrimSuffix(c.rules[i].Pattern, "*"); len(code) >= len(p) && strings.EqualFold(code[:len(p)], p) {
			best = i
			break
		}
	}
	if best < 0 {
		return ""
	}
	return c.rules[best].Kind
}

// classify returns the non-product kind of a line, or "".
func classify(rules []NonProductRule, code, description string) string {
	desc := strings.ToLower(description)
	for _, r := range rules {
		p := r.Pattern
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if code != "" && len(code) >= len(prefix) && strings.EqualFold(code[:len(prefix)], prefix) {
				return r.Kind
			}
			continue
		}
		if code != "" && strings.EqualFold(code, p) {
			return r.Kind
		}
		if desc != "" && containsPhrase(desc, strings.ToLower(p)) {
			return r.Kind
		}
	}
	return ""
}

// containsPhrase reports whether phrase occurs in s as whole words (or, for
// phrases with non-ASCII letters such as Chinese, anywhere).
func containsPhrase(s, phrase string) bool {
	ascii := true
	for _, r := range phrase {
		ascii = ascii && r < 0x80
	}
	if !ascii {
		return strings.Contains(s, phrase)
	}
	for from := 0; ; {
		i := strings.Index(s[from:], phrase)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(phrase)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		from = i + 1
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)))
}

// NormaliseID trims a customer id and undoes what spreadsheets do to
// numeric ids ("17850.0" → "17850"); ids that are emails are lower-cased.
func NormaliseID(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i > 0 && isDigits(s[:i]) && strings.Trim(s[i+1:], "0") == "" {
		s = s[:i]
	}
	if strings.Contains(s, "@") {
		s = strings.ToLower(s)
	}
	return s
}

// NormaliseEmail lower-cases and trims an email; "" when it is not one.
func NormaliseEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if at := strings.IndexByte(s, '@'); at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t,;") {
		return ""
	}
	return s
}

// lineParser turns records into canonical lines with the ingest rules of
// shop exports: guests, amounts from parts, non-product lines, cancellations
// and order-level fields filled down over an order's lines.
type lineParser struct {
	opt      *ReadOptions
	vals     ValueOptions
	notAfter int64
	st       *FileStats
	good     func(Transaction) error
	statuses map[string]bool
	classes  classifier
	hasParts bool // a unit price column: quantity defaults to 1
	// last is the previous row's order and order-level fields, for fill-down
	last fillState
	// lead records, when track is set, how the first rows depend on the
	// state before them (a chunk of a file read in parallel).
	track bool
	lead  leadInfo
}

// fillState is what fill-down carries from one row to the next: the order
// id and the order-level fields, as read or filled.
type fillState struct{ order, id, email, ts, status, cancel string }

// clone returns a copy of s that shares no memory with what it was read from.
func (s fillState) clone() fillState {
	c := strings.Clone
	return fillState{c(s.order), c(s.id), c(s.email), c(s.ts), c(s.status), c(s.cancel)}
}

// leadInfo describes the leading rows of a chunk parsed without the state
// before it: those sharing the first row's order id. A chunk must be parsed
// again with the true state when that order continues the previous chunk's
// last order and a leading row took a field from the state (empty before
// any row of the order had it), or the first row has an order-level refund.
type leadInfo struct {
	rows   int
	order  string
	open   bool
	empty  uint8 // fill-down fields (bits in fillState order, id = 1) empty before any value
	seen   uint8
	refund bool
}

// dependsOn reports whether a chunk with these leading rows reads
// differently after state prev than from scratch.
func (l leadInfo) dependsOn(prev fillState) bool {
	if l.rows == 0 || l.order == "" || l.order != prev.order {
		return false
	}
	var set uint8
	for i, v := range [5]string{prev.id, prev.email, prev.ts, prev.status, prev.cancel} {
		if v != "" {
			set |= 1 << i
		}
	}
	return l.empty&set != 0 || l.refund
}

// note updates the leading-row record with one parsed row's raw fields.
func (l *leadInfo) note(order string, fields [5]string, refunded bool) {
	if l.rows == 0 {
		l.order, l.open, l.refund = order, order != "", refunded
	}
	l.rows++
	if !l.open || order != l.order {
		l.open = false
		return
	}
	for i, v := range fields {
		bit := uint8(1) << i
		if v != "" {
			l.seen |= bit
		} else if l.seen&bit == 0 {
			l.empty |= bit
		}
	}
}

func newLineParser(opt *ReadOptions, vals ValueOptions, st *FileStats, good func(Transaction) error, cols map[string]string) *lineParser {
	p := &lineParser{opt: opt, vals: vals, st: st, good: good, statuses: map[string]bool{}}
	if !opt.NotAfter.IsZero() {
		p.notAfter = opt.NotAfter.UnixMicro()
	}
	statuses := opt.CancelStatuses
	if statuses == nil {
		statuses = DefaultCancelStatuses
	}
	for _, s := range statuses {
		p.statuses[normaliseHeader(s)] = true
	}
	_, p.hasParts = cols[KeyUnitPrice]
	rules := opt.NonProduct
	if rules == nil {
		rules = DefaultNonProduct
	}
	p.classes = newClassifier(rules)
	return p
}

func (p *lineParser) parse(get func(string) string) (string, string, error) {
	order := get(KeyOrderID)
	id, email, tsText, status, cancelText := get(KeyCustomerID), get(KeyEmail), get(KeyTS), get(KeyStatus), get(KeyCancelledAt)
	if p.track {
		p.lead.note(order, [5]string{id, email, tsText, status, cancelText}, get(KeyRefunded) != "")
	}
	firstLine := order == "" || order != p.last.order
	if !firstLine { // order-level fields appear on an order's first line only (Shopify)
		l := &p.last
		id, email, tsText = cmp.Or(id, l.id), cmp.Or(email, l.email), cmp.Or(tsText, l.ts)
		status, cancelText = cmp.Or(status, l.status), cmp.Or(cancelText, l.cancel)
	}
	p.last = fillState{order, id, email, tsText, status, cancelText}

	t := Transaction{CustomerID: NormaliseID(id), OrderID: order, LineID: get(KeyLineID),
		ProductID: get(KeyProductID), Category: get(KeyCategory), Channel: get(KeyChannel)}
	if slices.Contains(p.opt.GuestIDs, t.CustomerID) {
		t.CustomerID = ""
	}
	if t.CustomerID == "" && p.opt.GuestKey == GuestKeyEmail {
		t.CustomerID = NormaliseEmail(email)
	}
	if t.CustomerID == "" {
		p.st.Guests++
		return "", "", errSkip
	}
	ts, col, reason := parseTimeField(func(string) string { return tsText }, KeyTS, p.vals, p.notAfter)
	if reason != "" {
		return col, reason, nil
	}
	t.TS = ts
	qty := int64(0)
	if q := get(KeyQuantity); q != "" {
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSuffix(q, ".0"), ".00"), 10, 32)
		if err != nil {
			return KeyQuantity, fmt.Sprintf("quantity %q is not a whole number", q), nil
		}
		qty = v
	} else if p.hasParts {
		qty = 1
	}
	t.Quantity = int32(qty)
	col, reason = p.amount(&t, get, qty)
	if reason != "" {
		return col, reason, nil
	}
	if qty < 0 && t.AmountCents > 0 {
		t.AmountCents = -t.AmountCents // a return line with the amount written positive
	}
	if d := get(KeyDiscount); d != "" {
		cents, err := ParseAmount(d, p.vals.Decimal)
		if err != nil {
			return KeyDiscount, strings.Replace(err.Error(), "amount", "discount", 1), nil
		}
		t.DiscountCents = abs64(cents)
	}
	for _, k := range []string{KeyPointsEarned, KeyPointsRedeemed} {
		v := get(k)
		if v == "" {
			continue
		}
		n, err := ParseDecimal(v, p.vals.Decimal, 0)
		if err != nil {
			return k, strings.Replace(err.Error(), "amount", "points", 1), nil
		}
		if k == KeyPointsEarned {
			t.PointsEarned = n
		} else {
			t.PointsRedeemed = abs64(n)
		}
	}
	if m := p.opt.MaxAmountCents; m > 0 && (t.AmountCents > m || t.AmountCents < -m) {
		return KeyAmount, fmt.Sprintf("amount %s is beyond the bound of ±%s (max_amount)", FormatCents(t.AmountCents), FormatCents(m)), nil
	}
	if kind := p.classes.kind(t.ProductID, get(KeyDescription)); kind != "" {
		t.LineKind = kind
		if p.st.NonProduct == nil {
			p.st.NonProduct = map[string]int64{}
		}
		p.st.NonProduct[kind]++
		return "", "", p.good(t)
	}
	if t.AmountCents == 0 {
		p.st.ZeroPrice++
	}
	if pre := p.opt.CancelPrefix; pre != "" && strings.HasPrefix(order, pre) {
		// A cancellation invoice (C536379): its lines are refunds, linked to
		// the original order by the warehouse writer where that order exists.
		t.LineKind = LineCancellation
		t.AmountCents, t.Quantity = -abs64(t.AmountCents), -int32(abs64(int64(t.Quantity)))
		p.st.CancelLines++
		return "", "", p.good(t)
	}
	cancelled := p.statuses[normaliseHeader(status)]
	cancelTS := t.TS
	if cancelText != "" {
		c, err := ParseTime(cancelText, p.vals)
		if err != nil {
			return KeyCancelledAt, err.Error(), nil
		}
		cancelled, cancelTS = true, max(c, t.TS)
	}
	var refunded int64 // an order-level refunded amount, on the order's first line
	if r := get(KeyRefunded); r != "" && firstLine {
		cents, err := ParseAmount(r, p.vals.Decimal)
		if err != nil {
			return KeyRefunded, strings.Replace(err.Error(), "amount", "refunded amount", 1), nil
		}
		refunded = abs64(cents)
	}
	if err := p.good(t); err != nil {
		return "", "", err
	}
	if !cancelled {
		if refunded > 0 { // a partial refund: one refund line of the order
			p.st.RefundLines++
			ref := Transaction{CustomerID: t.CustomerID, OrderID: t.OrderID, LineID: "refund", TS: cancelTS, AmountCents: -refunded, LineKind: LineCancellation}
			return "", "", p.good(ref)
		}
		return "", "", nil
	}
	if t.AmountCents <= 0 {
		return "", "", nil
	}
	// A cancelled or refunded order: the purchase stays, and its negative
	// counterpart at the cancellation time nets it out.
	p.st.CancelledLines++
	c := t
	c.TS, c.AmountCents, c.Quantity, c.LineKind = cancelTS, -t.AmountCents, -t.Quantity, LineCancellation
	c.PointsEarned, c.PointsRedeemed = -t.PointsEarned, -t.PointsRedeemed // points earned are taken back, points spent given back
	if c.LineID != "" {
		c.LineID += "/cancel"
	}
	return "", "", p.good(c)
}

// amount sets the line amount: the amount column, else the line total, else
// quantity × unit price − discount, rounded to cents once.
func (p *lineParser) amount(t *Transaction, get func(string) string, qty int64) (string, string) {
	var err error
	for _, k := range []string{KeyAmount, KeyLineTotal} {
		if s := get(k); s != "" {
			if t.AmountCents, err = ParseAmount(s, p.vals.Decimal); err != nil {
				return k, err.Error()
			}
			if u := get(KeyUnitPrice); u != "" {
				price, err := ParseDecimal(u, p.vals.Decimal, 6)
				if err != nil {
					return KeyUnitPrice, strings.Replace(err.Error(), "amount", "unit price", 1)
				}
				t.UnitPriceCents = roundMillionths(abs64(price))
			}
			return "", ""
		}
	}
	s := get(KeyUnitPrice)
	if s == "" {
		return KeyAmount, "no amount, line total or unit price"
	}
	const places = 6 // unit prices in millionths, rounded to cents after × quantity
	price, err := ParseDecimal(s, p.vals.Decimal, places)
	if err != nil {
		return KeyUnitPrice, strings.Replace(err.Error(), "amount", "unit price", 1)
	}
	t.UnitPriceCents = roundMillionths(abs64(price))
	var discount int64
	if d := get(KeyDiscount); d != "" {
		if discount, err = ParseDecimal(d, p.vals.Decimal, places); err != nil {
			return KeyDiscount, strings.Replace(err.Error(), "amount", "discount", 1)
		}
	}
	total := new(big.Int).Mul(big.NewInt(price), big.NewInt(qty))
	if qty < 0 {
		total.Add(total, big.NewInt(abs64(discount))) // a returned line gives back less by its discount
	} else {
		total.Sub(total, big.NewInt(abs64(discount)))
	}
	// Round millionths to cents, half away from zero.
	q, r := new(big.Int).QuoRem(total, big.NewInt(10_000), new(big.Int))
	if r2 := new(big.Int).Abs(r); r2.Cmp(big.NewInt(5_000)) >= 0 {
		q.Add(q, big.NewInt(int64(total.Sign())))
	}
	if !q.IsInt64() || q.Int64() > math.MaxInt64/2 || q.Int64() < math.MinInt64/2 {
		return KeyUnitPrice, fmt.Sprintf("quantity %d × unit price %s is too large", qty, s)
	}
	t.AmountCents = q.Int64()
	return "", ""
}

// roundMillionths rounds a non-negative amount in millionths to cents, half up.
func roundMillionths(v int64) int64 { return (v + 5_000) / 10_000 }

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
