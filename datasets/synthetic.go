package datasets

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// SyntheticConfig configures Generate. The zero value of each field means its
// documented default.
type SyntheticConfig struct {
	Customers int       // number of customers; required, > 0
	Seed      uint64    // seed of the PCG source; same seed ⇒ byte-identical files
	End       time.Time // end of observation (exclusive day end); default 2025-12-31
	Years     int       // length of history in years; default 3
	// Subscriptions makes a subscription shop (contractual churn): each
	// customer's feedback gains a subscribe event at the first order and a
	// cancel event at the dropout, when that falls before End.
	Subscriptions bool
}

// DefaultSyntheticEnd is the last day of generated history when none is given.
var DefaultSyntheticEnd = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// Validate reports a configuration error.
func (c SyntheticConfig) Validate() error {
	if c.Customers <= 0 {
		return fmt.Errorf("datasets: generate: --customers must be > 0, got %d", c.Customers)
	}
	if c.Years < 0 || c.Years > 50 {
		return fmt.Errorf("datasets: generate: years must be 1..50, got %d", c.Years)
	}
	return nil
}

// Latent process parameters of the simulated shop (per day). They follow the
// Pareto/NBD story (Schmittlein, Morrison & Colombo 1987): purchase rate
// λ ~ Gamma(r, α), dropout rate μ ~ Gamma(s, β), lifetime ~ Exp(μ); spend per
// order follows Gamma-Gamma (Fader & Hardie 2013): z ~ Gamma(p, ν), ν ~ Gamma(q, γ).
const (
	synR, synAlpha = 1.1, 60.0  // mean λ = r/α ≈ 0.018 orders/day
	synS, synBeta  = 0.7, 400.0 // mean μ = s/β ≈ 0.00175/day
	synP, synQ     = 6.0, 3.5   // spend shape parameters
	synGamma       = 25.0       // E[z] = pγ/(q-1) = 60 currency units
)

var (
	synCategories = []string{"books", "music", "electronics", "home", "garden", "toys", "beauty", "sports"}
	synChannels   = []string{"web", "app", "store"}
	synCountries  = []string{"US", "US", "US", "GB", "DE", "FR", "CN", "CN", "JP", "CA"}
)

// SyntheticTruth is the latent truth of one customer, written to truth.csv.
type SyntheticTruth struct {
	CustomerID     string
	PurchaseRate   float64 // λ, orders per day
	DropoutRate    float64 // μ, per day
	FirstPurchase  time.Time
	DropoutAt      time.Time // zero when alive at End
	MeanOrderValue float64   // E[z | ν] = p/ν, currency units
	Satisfaction   float64   // latent, standard-normal scale; higher is happier
}

// GenerateStats counts what Generate wrote.
type GenerateStats struct {
	Customers, Orders, Lines, Refunds, Feedback int64
}

// Generate writes a synthetic shop to dir: transactions.csv, customers.csv,
// feedback.csv and truth.csv. Customers are streamed one at a time, so memory
// does not grow with the number of customers.
func Generate(ctx context.Context, cfg SyntheticConfig, dir string) (GenerateStats, error) {
	var st GenerateStats
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	if cfg.End.IsZero() {
		cfg.End = DefaultSyntheticEnd
	}
	if cfg.Years == 0 {
		cfg.Years = 3
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, fmt.Errorf("datasets: %w", err)
	}
	names := []string{"transactions.csv", "customers.csv", "feedback.csv", "truth.csv"}
	headers := []string{
		"customer_id,order_id,ts,amount,quantity,product_id,category,channel,discount,points_earned,points_redeemed\n",
		"customer_id,signup_ts,email,phone,country\n",
		"customer_id,ts,kind,score\n",
		"customer_id,purchase_rate_per_day,dropout_rate_per_day,first_purchase,dropout_date,alive_at_end,mean_order_value,satisfaction\n",
	}
	files := make([]*os.File, len(names))
	ws := make([]*bufio.Writer, len(names))
	tmpNames := make([]string, len(names))
	defer func() {
		for i, f := range files {
			if f != nil {
				f.Close()
				os.Remove(tmpNames[i])
			}
		}
	}()
	for i, n := range names {
		f, err := os.CreateTemp(dir, "."+n+".tmp-")
		if err != nil {
			return st, fmt.Errorf("datasets: %w", err)
		}
		files[i], tmpNames[i] = f, f.Name()
		if err := f.Chmod(0o644); err != nil {
			return st, fmt.Errorf("datasets: %w", err)
		}
		ws[i] = bufio.NewWriterSize(f, 1<<20)
		ws[i].WriteString(headers[i])
	}
	// Customers are generated in fixed blocks, each from its own PCG stream
	// seeded by (seed, block), on all cores; blocks are written in order, so
	// the files do not depend on the number of workers.
	const blockSize = 2048
	nBlocks := (cfg.Customers + blockSize - 1) / blockSize
	workers := max(1, runtime.GOMAXPROCS(0))
	start, end := cfg.End.AddDate(-cfg.Years, 0, 1), cfg.End.Add(24*time.Hour)
	// Block buffers are sized for a typical block and reused across rounds.
	slots := make([]*generator, 2*workers)
	for k := range slots {
		slots[k] = &generator{cfg: cfg, start: start, end: end, tx: make([]byte, 0, blockSize*1024),
			cust: make([]byte, 0, blockSize*80), fb: make([]byte, 0, blockSize*80), truth: make([]byte, 0, blockSize*96)}
	}
	for first := 0; first < nBlocks; first += len(slots) {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		gens := slots[:min(len(slots), nBlocks-first)]
		var wg sync.WaitGroup
		sem := make(chan struct{}, workers)
		for k, g := range gens {
			b := first + k
			g.rng = rand.New(rand.NewPCG(cfg.Seed, uint64(b)^0x9e3779b97f4a7c15))
			g.tx, g.cust, g.fb, g.truth = g.tx[:0], g.cust[:0], g.fb[:0], g.truth[:0]
			g.st = GenerateStats{}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				for i := b * blockSize; i < min((b+1)*blockSize, cfg.Customers); i++ {
					g.customer(i)
				}
			}()
		}
		wg.Wait()
		for _, g := range gens {
			for i, buf := range [][]byte{g.tx, g.cust, g.fb, g.truth} {
				ws[i].Write(buf)
			}
			st.Customers += g.st.Customers
			st.Orders += g.st.Orders
			st.Lines += g.st.Lines
			st.Refunds += g.st.Refunds
			st.Feedback += g.st.Feedback
		}
	}
	for i, f := range files {
		err := syncClose(f, ws[i].Flush())
		files[i] = nil
		if err == nil {
			err = os.Rename(tmpNames[i], filepath.Join(dir, names[i]))
		}
		if err != nil {
			os.Remove(tmpNames[i])
			return st, fmt.Errorf("datasets: write %s: %w", names[i], err)
		}
	}
	return st, nil
}

// generator simulates one block of customers into in-memory CSV fragments.
type generator struct {
	points              int64 // the current customer's loyalty points balance
	rng                 *rand.Rand
	cfg                 SyntheticConfig
	start, end          time.Time
	tx, cust, fb, truth []byte
	st                  GenerateStats
	orderSeq            int
	lineWeights         []float64
	orderLines          []orderLine
	idBuf               []byte
}

// orderLine is what makes two lines of an order the same row.
type orderLine struct {
	product string
	net     int64
	qty     int
}

// appendPadded appends v in decimal, left-padded with zeros to width digits.
func appendPadded(b []byte, v int64, width int) []byte {
	start := len(b)
	b = strconv.AppendInt(b, v, 10)
	if n := len(b) - start; n < width {
		pad := width - n
		b = append(b, make([]byte, pad)...)
		copy(b[start+pad:], b[start:start+n])
		for i := start; i < start+pad; i++ {
			b[i] = '0'
		}
	}
	return b
}

// gamma draws from Gamma(shape k, scale θ) (Marsaglia & Tsang 2000).
func (g *generator) gamma(k, theta float64) float64 {
	if k < 1 {
		return g.gamma(k+1, theta) * math.Pow(g.rng.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := g.rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := g.rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v * theta
		}
	}
}

func (g *generator) poisson(mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// season is the relative purchase intensity at t: a December peak, a summer
// dip and busier weekends. Its maximum is below seasonMax.
func season(t time.Time) float64 {
	doy := float64(t.YearDay())
	s := 1 + 0.25*math.Cos(2*math.Pi*(doy-350)/365) // peak mid-December
	if m := t.Month(); m == time.November || m == time.December {
		s += 0.2
	}
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		s *= 1.15
	}
	return s
}

const seasonMax = 1.7

func (g *generator) hourOfDay() time.Duration {
	// Most orders in the day and evening.
	h := 8 + g.rng.NormFloat64()*3.5 + 6
	h = math.Mod(math.Abs(h), 24)
	return time.Duration(h * float64(time.Hour))
}

func (g *generator) customer(i int) {
	id := string(appendPadded(g.idBuf[:0], int64(i+1), 8))
	g.orderSeq = 0
	g.points = 0
	span := g.end.Sub(g.start).Hours() / 24
	// Arrivals grow linearly over time (a growing shop): density ∝ position.
	arrivalDay := math.Floor(math.Sqrt(g.rng.Float64()) * span)
	first := g.start.Add(time.Duration(arrivalDay*24)*time.Hour + g.hourOfDay())
	if !first.Before(g.end) {
		first = g.end.Add(-time.Hour)
	}
	lambda := g.gamma(synR, 1/synAlpha)
	mu := g.gamma(synS, 1/synBeta)
	life := g.rng.ExpFloat64() / mu
	dropout := first.Add(time.Duration(math.Min(life, 1e5) * 24 * float64(time.Hour)))
	// Satisfaction is correlated with a low dropout rate (sd of log Gamma(0.7) ≈ 1.68).
	meanLogMu := -0.9635 - math.Log(synBeta) // digamma(0.7) − log β
	sat := -0.7*(math.Log(mu)-meanLogMu)/1.68 + 0.7*g.rng.NormFloat64()
	nu := g.gamma(synQ, 1/synGamma)
	priceSens := 1 / (1 + math.Exp(-(g.rng.NormFloat64() - 1.2)))
	returnRate := 0.02 + 0.08/(1+math.Exp(2*sat))
	favCat := g.rng.IntN(len(synCategories))
	favChan := g.rng.IntN(len(synChannels))
	g.st.Customers++

	stop := g.end
	if dropout.Before(stop) {
		stop = dropout
	}
	t := first
	for {
		g.order(id, t, nu, priceSens, returnRate, favCat, favChan, sat)
		// Next purchase by thinning a Poisson process of rate λ·seasonMax.
		for {
			gap := g.rng.ExpFloat64() / (lambda * seasonMax)
			t = t.Add(time.Duration(math.Min(gap, 1e5) * 24 * float64(time.Hour)))
			if !t.Before(stop) || g.rng.Float64()*seasonMax < season(t) {
				break
			}
		}
		if !t.Before(stop) {
			break
		}
	}

	if g.cfg.Subscriptions { // no random draws: the other files stay as without
		g.feedback(id, first, "subscribe", -1)
		if dropout.Before(g.end) {
			g.feedback(id, dropout, "cancel", -1)
		}
	}
	signup := first.AddDate(0, 0, -g.rng.IntN(30))
	b := g.cust
	b = append(b, id...)
	b = append(b, ',')
	b = signup.AppendFormat(b, "2006-01-02")
	b = append(b, ",customer"...)
	b = append(b, id...)
	b = append(b, "@example.com,+1-555-"...)
	b = appendPadded(b, int64(g.rng.IntN(10000)), 4)
	b = append(b, ',')
	b = append(b, synCountries[g.rng.IntN(len(synCountries))]...)
	b = append(b, '\n')
	g.cust = b

	b = g.truth
	b = append(b, id...)
	b = append(b, ',')
	b = strconv.AppendFloat(b, lambda, 'g', 8, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, mu, 'g', 8, 64)
	b = append(b, ',')
	b = first.AppendFormat(b, "2006-01-02")
	b = append(b, ',')
	alive := !dropout.Before(g.end)
	if !alive {
		b = dropout.AppendFormat(b, "2006-01-02")
	}
	b = append(b, ',')
	b = strconv.AppendBool(b, alive)
	b = append(b, ',')
	b = strconv.AppendFloat(b, synP/nu, 'f', 4, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, sat, 'f', 4, 64)
	b = append(b, '\n')
	g.truth = b
}

func (g *generator) order(id string, t time.Time, nu, priceSens, returnRate float64, favCat, favChan int, sat float64) {
	g.orderSeq++
	g.st.Orders++
	oid := "O" + id + "-" + strconv.Itoa(g.orderSeq) // order numbers are per customer
	value := g.gamma(synP, 1/nu)
	value = math.Max(value, 1)
	discountFrac := 0.0
	if g.rng.Float64() < priceSens {
		discountFrac = 0.05 + 0.25*g.rng.Float64()
	}
	channel := synChannels[favChan]
	if g.rng.Float64() < 0.25 {
		channel = synChannels[g.rng.IntN(len(synChannels))]
	}
	nLines := 1 + g.poisson(0.8)
	if nLines > 6 {
		nLines = 6
	}
	g.lineWeights = g.lineWeights[:0]
	g.orderLines = g.orderLines[:0]
	sum := 0.0
	for range nLines {
		w := g.rng.ExpFloat64()
		g.lineWeights = append(g.lineWeights, w)
		sum += w
	}
	for li := range nLines {
		cat := favCat
		if g.rng.Float64() > 0.6 {
			cat = g.rng.IntN(len(synCategories))
		}
		gross := int64(math.Round(value * g.lineWeights[li] / sum * 100))
		if gross < 50 {
			gross = 50
		}
		disc := int64(math.Round(float64(gross) * discountFrac))
		net := gross - disc
		qty := 1 + g.poisson(0.4)
		product := g.product(cat, g.rng.IntN(200))
		// Two lines of one order are never identical (ingest drops exact
		// duplicate rows): a clash moves the later one by a cent.
		for clash := true; clash; {
			clash = false
			for _, l := range g.orderLines {
				if l.product == product && l.net == net && l.qty == qty {
					net, clash = net+1, true
				}
			}
		}
		g.orderLines = append(g.orderLines, orderLine{product, net, qty})
		// Loyalty points: one per currency unit; satisfied customers spend
		// 500 of them on an order once they have them (no random draw, so
		// the rest of the shop does not change with the points).
		var redeem int64
		if li == 0 && g.points >= 500 && sat > -0.5 {
			redeem = 500
		}
		g.points += net/100 - redeem
		g.line(id, oid, t, net, qty, product, synCategories[cat], channel, disc, net/100, redeem)
		g.st.Lines++
		if g.rng.Float64() < returnRate {
			rt := t.Add(time.Duration(3+g.rng.IntN(28)) * 24 * time.Hour)
			if rt.Before(g.end) {
				g.points -= net / 100
				g.line(id, "R"+oid[1:], rt, -net, -qty, product, synCategories[cat], channel, 0, -net/100, 0)
				g.st.Refunds++
			}
		}
	}
	// Feedback: surveys after some orders and complaints, both driven by satisfaction.
	// A survey invitation after 30% of orders; happier customers answer more often.
	if g.rng.Float64() < 0.3 {
		it := t.Add(24 * time.Hour)
		ft := it.Add(time.Duration(g.rng.IntN(7)) * 24 * time.Hour)
		if ft.Before(g.end) {
			g.feedback(id, it, "survey", -1)
			if g.rng.Float64() < 0.5/(1+math.Exp(-sat)) {
				nps := clampRound(7.5+1.8*sat+1.5*g.rng.NormFloat64(), 0, 10)
				g.feedback(id, ft, "nps", nps)
				if g.rng.Float64() < 0.5 {
					g.feedback(id, ft, "csat", clampRound(4+0.8*sat+0.7*g.rng.NormFloat64(), 1, 5))
				}
			}
		}
	}
	if g.rng.Float64() < 0.01+0.06/(1+math.Exp(2*sat)) {
		ft := t.Add(time.Duration(1+g.rng.IntN(10)) * 24 * time.Hour)
		if ft.Before(g.end) {
			g.feedback(id, ft, "complaint", -1)
		}
	}
}

// product names the p-th product of category cat, e.g. "P3042".
func (g *generator) product(cat, p int) string {
	b := append(g.idBuf[:0], 'P')
	b = strconv.AppendInt(b, int64(cat), 10)
	return string(appendPadded(b, int64(p), 3))
}

func clampRound(v, lo, hi float64) int {
	return int(math.Max(lo, math.Min(hi, math.Round(v))))
}

func appendCents(b []byte, c int64) []byte {
	if c < 0 {
		b = append(b, '-')
		c = -c
	}
	b = strconv.AppendInt(b, c/100, 10)
	b = append(b, '.')
	if c%100 < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, c%100, 10)
}

func (g *generator) line(id, oid string, t time.Time, cents int64, qty int, product, cat, channel string, disc, pe, pr int64) {
	b := g.tx
	b = append(b, id...)
	b = append(b, ',')
	b = append(b, oid...)
	b = append(b, ',')
	b = t.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, ',')
	b = appendCents(b, cents)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(qty), 10)
	b = append(b, ',')
	b = append(b, product...)
	b = append(b, ',')
	b = append(b, cat...)
	b = append(b, ',')
	b = append(b, channel...)
	b = append(b, ',')
	b = appendCents(b, disc)
	b = append(b, ',')
	b = strconv.AppendInt(b, pe, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, pr, 10)
	b = append(b, '\n')
	g.tx = b
}

func (g *generator) feedback(id string, t time.Time, kind string, score int) {
	b := g.fb
	b = append(b, id...)
	b = append(b, ',')
	b = t.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, ',')
	b = append(b, kind...)
	b = append(b, ',')
	if score >= 0 {
		b = strconv.AppendInt(b, int64(score), 10)
	}
	b = append(b, '\n')
	g.fb = b
	g.st.Feedback++
}
