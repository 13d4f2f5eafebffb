package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/models"
)

// ScoreResult describes a published list.
type ScoreResult struct {
	Dir       string
	ListCSV   string
	Report    string
	Customers int
	Top       []datasets.ScoreRow // the first rows of the list (up to 10)
	Reused    bool                // the list was up to date (same inputs); nothing was rewritten
}

// Score scores every customer of the snapshot at asOf with the champion
// models and publishes lists/as-of=…/ (retention_list.csv, scores.parquet,
// report.html, manifest) atomically. With cfg.Shard set it scores only the
// shard's buckets, for Merge (scoreShard).
func Score(ctx context.Context, cfg Config, asOf time.Time) (ScoreResult, error) {
	cfg, sp, start, err := beginScore(cfg, asOf)
	if err != nil {
		return ScoreResult{}, err
	}
	defer lowerGCPercent()() // a row per customer, little else
	if cfg.Shard.Sharded() {
		return scoreShard(ctx, cfg, asOf, sp, start)
	}
	if res, ok := reusableList(cfg, asOf, sp.key); ok {
		cfg.Log.Info("list up to date, reused", "stage", "score", "run_id", cfg.RunID, "list", res.ListCSV)
		return res, nil
	}
	if cfg.books == nil {
		cfg.books = &bookCache{}
	}
	fr, err := Features(ctx, cfg, asOf)
	if err != nil {
		return ScoreResult{}, err
	}
	sc, _, err := scoreSnapshot(ctx, cfg, asOf, sp, fr.Dir, nil)
	if err != nil {
		return ScoreResult{}, err
	}
	return publishList(ctx, cfg, asOf, sp, sc, nil, start)
}

// beginScore is what Score and Merge do first: the config's defaults and
// checks, the start time, and the champions and inputs key (prepareScore).
func beginScore(cfg Config, asOf time.Time) (Config, *scorePrep, time.Time, error) {
	cfg = cfg.WithDefaults()
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return cfg, nil, start, err
	}
	sp, err := prepareScore(cfg, asOf)
	return cfg, sp, start, err
}

// scorePrep is what scoring reads before the snapshot: the champions and
// the key of every input of the list.
type scorePrep struct {
	churnArt         ChurnArtifact
	clvArt           CLVArtifact
	churnV, clvV     string
	prevDay, prevDir string // the list movers compare with
	key              string
}

// modelVersion is the list's model_version: the churn and CLV champions'.
func (sp *scorePrep) modelVersion() string { return sp.churnV + "+" + sp.clvV }

func prepareScore(cfg Config, asOf time.Time) (*scorePrep, error) {
	sp := &scorePrep{}
	var err error
	if sp.churnV, err = loadChampion(cfg.Workdir, KindChurn, &sp.churnArt); err != nil {
		return nil, err
	}
	if sp.clvV, err = loadChampion(cfg.Workdir, KindCLV, &sp.clvArt); err != nil {
		return nil, err
	}
	if _, err := sp.churnArt.Classifier(&sp.clvArt); err != nil || sp.churnArt.SchemaHash != SchemaHash() || !slices.Equal(sp.churnArt.Features, features.ModelColumns) || len(sp.churnArt.Means) != len(features.ModelColumns) {
		return nil, fmt.Errorf("pipeline: churn model %s was trained on other features or by an older version; retrain with churn train", sp.churnV)
	}
	wv, _, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		return nil, err
	}
	sp.prevDay, sp.prevDir = previousList(cfg.Workdir, asOf) // part of the inputs
	sp.key = inputsKey("score", wv, dateString(asOf), sp.churnV, sp.clvV, sp.prevDay, features.SchemaVersion(), cfg.Lang, cfg.RiskHigh, cfg.RiskMedium,
		cfg.Horizon, cfg.CLVHorizon, cfg.DiscountRate, cfg.ContactCost, cfg.SaveRate, cfg.Budget, cfg.Top, cfg.ControlShare, cfg.Seed,
		cfg.ActionRules, cfg.Tiers, cfg.TierWindow, cfg.Timezone, cfg.SatisfactionWeights, cfg.CancelWindow)
	return sp, nil
}

// scored is a list before the steps that look at all of it: rows in
// snapshot order and, beside each, what those steps read.
type scored struct {
	l      *list
	inputs []actionInput
	first  []int32 // day of the first order, days since 1970-01-01
}

// scoreSnapshot scores the customers of the snapshot in dir, of the parts
// keep accepts (nil: all), and returns the rows each part brought (the
// rows are in part order).
func scoreSnapshot(ctx context.Context, cfg Config, asOf time.Time, sp *scorePrep, dir string, keep func(int) bool) (*scored, map[int]int64, error) {
	scr, err := newScorer(cfg, sp, asOf)
	if err != nil {
		return nil, nil, err
	}
	// The CLV predictions of every customer at once, from the four BTYD
	// columns: the Pareto/NBD tables of each (x, T) are made once, not
	// once per part.
	btyd, _, _, err := datasets.ReadSnapshotParts(ctx, dir, memory.DefaultAllocator, keep, btydColumns...)
	if err != nil {
		return nil, nil, err
	}
	err = scr.predictCLV(btyd)
	btyd.Release()
	if err != nil {
		return nil, nil, err
	}
	// Batch by batch: memory holds one batch's columns and design matrix
	// (and the next batch, read meanwhile), never a whole part's.
	sc := &scored{}
	at := 0
	partRows, err := datasets.EachSnapshotBatch(ctx, dir, memory.DefaultAllocator, keep, scoreColumns(), func(n int64) {
		sc.l, sc.inputs, sc.first = newList(int(n), asOf, scr.version), make([]actionInput, n), make([]int32, 0, n)
	}, func(_ int, rec arrow.RecordBatch) error {
		first, err := firstOrderDays(rec)
		if err != nil {
			return err
		}
		n := int(rec.NumRows())
		if at+n > len(sc.l.rows) {
			return fmt.Errorf("pipeline: snapshot %s has more rows than its parts' footers say", dir)
		}
		if at+n > len(scr.nextWeeks) {
			return fmt.Errorf("pipeline: snapshot %s: the parts have more rows than their BTYD columns", dir)
		}
		rec.Retain() // scoreRows releases its record
		if err := scr.scoreRows(rec, sc.l, at, sc.inputs[at:at+n], scr.pred[3*at:3*(at+n)], scr.nextWeeks[at:at+n]); err != nil {
			return err
		}
		sc.first = append(sc.first, first...)
		at += n
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if at != len(sc.l.rows) {
		return nil, nil, fmt.Errorf("pipeline: snapshot %s has %d rows, its parts' footers say %d", dir, at, len(sc.l.rows))
	}
	sc.l.memoDates()
	return sc, partRows, nil
}

// publishList takes the scored customers of the whole snapshot through the
// steps that look at all of them (risk permilles, actions, ranking, sizing,
// movers, the KPI book and the report) and commits the list folder. book is
// the KPI book of asOf, or nil to compute it from the warehouse.
func publishList(ctx context.Context, cfg Config, asOf time.Time, sp *scorePrep, sc *scored, book *features.KPIBook, start time.Time) (ScoreResult, error) {
	l := sc.l
	rows := l.rows
	rankRisk(rows, cfg.Workers)
	rules := cfg.ActionRules
	if rules == nil {
		rules = defaultRules(cfg.Tiers)
	}
	if err := assignActions(l, sc.inputs, rules, cfg.Lang, cfg.Workers); err != nil {
		return ScoreResult{}, err
	}
	reasonCounts := topReasonCounts(sc.inputs, rows) // before ranking reorders the rows
	clvCohorts, err := clvByCohort(sc.first, rows)
	if err != nil {
		return ScoreResult{}, err
	}
	// What the steps above used goes (36 bytes a customer), before the
	// movers and the files need memory.
	sc.inputs, sc.first = nil, nil
	rankRows(l, cfg.Workers)
	sizing := sizeCampaign(cfg, rows)
	var moves []Mover
	var movers *Movers
	if sp.prevDir != "" {
		moves, err = findMovers(func(fn func([]datasets.ListEntry) error) error {
			return datasets.EachListEntries(filepath.Join(sp.prevDir, datasets.ScoresParquet), fn)
		}, l)
		if err != nil {
			return ScoreResult{}, err
		}
		movers = summariseMovers(sp.prevDay, l, moves)
	}
	if book == nil { // Merge brings the score shards' books
		if book, err = computeKPIs(ctx, cfg, asOf); err != nil {
			return ScoreResult{}, err
		}
	}
	kpis, cohorts := kpiRows(book, asOf), cohortRows(book, clvCohorts)

	res := ScoreResult{Dir: datasets.ListDir(cfg.Workdir, dateString(asOf)), Customers: len(rows)}
	res.ListCSV = filepath.Join(res.Dir, datasets.RetentionListCSV)
	res.Report = filepath.Join(res.Dir, datasets.ReportHTML)
	res.Top = l.scoreRows(0, min(10, len(rows))) // rows of their own: the list goes once written
	var html bytes.Buffer
	rd := reportData(cfg, asOf, l, &sp.churnArt, &sp.clvArt, sp.churnV, sp.clvV)
	rd.KPIs = kpiSection(kpis, cohorts)
	rd.Sizing = sizing
	rd.Movers = movers
	rd.TopReasons = reasonCounts
	rd.Ingests = dataQuality(cfg.Workdir)
	if err := writeReportLang(&html, rd, cfg.Lang); err != nil {
		return res, err
	}
	err = datasets.CommitFolder(res.Dir, func(tmp string) (datasets.Manifest, error) {
		// The Parquet file meanwhile: its writer runs on one core, and the
		// CSV's workers wait on each other's chunks (at 10M, 9.5 s and 6 s
		// one after the other).
		pq := make(chan error, 1)
		go func() {
			pq <- datasets.WriteScoresParquetFunc(filepath.Join(tmp, datasets.ScoresParquet), len(rows), l.fill)
		}()
		// Straight to the file: a million rows are ~0.25 GB of text.
		err := datasets.WriteFileWith(filepath.Join(tmp, datasets.RetentionListCSV), func(w io.Writer) error {
			return datasets.WriteScoresCSVFunc(w, len(rows), l.fill)
		})
		if err = cmp.Or(<-pq, err); err != nil {
			return datasets.Manifest{}, err
		}
		if err := os.WriteFile(filepath.Join(tmp, datasets.ReportHTML), html.Bytes(), datasets.FileMode); err != nil {
			return datasets.Manifest{}, fmt.Errorf("pipeline: %w", err)
		}
		if _, err := writeKPIFiles(tmp, kpis, cohorts, asOf); err != nil {
			return datasets.Manifest{}, err
		}
		if err := os.WriteFile(filepath.Join(tmp, MoversCSV), moversCSV(l, moves), datasets.FileMode); err != nil {
			return datasets.Manifest{}, fmt.Errorf("pipeline: %w", err)
		}
		return datasets.Manifest{Kind: "list", Rows: int64(len(rows)), Meta: map[string]string{
			"as_of": dateString(asOf), "churn_model": sp.churnV, "clv_model": sp.clvV, "purchase_model": sp.clvArt.PurchaseModel, "inputs_key": sp.key,
			"horizon_days": strconv.Itoa(cfg.Horizon), "clv_horizon_days": strconv.Itoa(cfg.CLVHorizon)}}, nil
	})
	if err != nil {
		return res, err
	}
	cfg.logStage("score", int64(len(rows)), start, "as_of", dateString(asOf), "list", res.ListCSV)
	return res, nil
}

// scoreColumns are the snapshot columns scoring reads part by part
// (scoreRows, clvByCohort): the model's and those the list, the reasons
// and the action rules show. The BTYD columns are read apart, for every
// customer at once (predictCLV).
func scoreColumns() []string {
	cols := slices.Concat(features.ModelColumns, []string{features.CustomerID}, []string{features.RScore, features.FScore,
		features.LastOrderDate, features.DaysSinceComplaint, features.DiscountOrderShare, features.OverdueRatio, features.RFMCell,
		features.LoyaltyTier, features.NPSClass, features.SubscriptionStatus, features.DaysSinceCancel, features.FirstOrderDate})
	slices.Sort(cols)
	return slices.Compact(cols)
}

// scorer scores a snapshot's customers part by part with the champions,
// set up once.
type scorer struct {
	cfg       Config
	churnArt  *ChurnArtifact
	clvArt    *CLVArtifact
	asOf      time.Time
	version   string
	clf       models.Classifier
	explainer models.Classifier
	clv       models.CLV
	// predictCLV's: P(alive), expected orders and CLV (three a customer),
	// and the median weeks to the next order (NaN beyond the CLV horizon)
	pred, nextWeeks []float64
	reasons         sharedStrings // the reasons' texts, one copy of each
	reasoner        *reasoner
}

// interner keeps one copy of each distinct string, up to maxShared of
// them (then each further string is its own). The reasons of a list
// repeat: the generated million customers' list has 212,000 distinct
// texts in its 1,000,000 rows, about 63 bytes each, which every row kept a
// copy of (some 0.5 GB at ten million customers).
type interner map[string]string

const maxShared = 1 << 20

func (in interner) str(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	if len(in) < maxShared {
		in[s] = s
	}
	return s
}

// sharedStrings is an interner for concurrent use.
type sharedStrings struct {
	mu sync.Mutex
	in interner
}

func (t *sharedStrings) get(s string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.in == nil {
		t.in = interner{}
	}
	return t.in.str(s)
}

// predictCLV fills s.pred and s.nextWeeks for the customers of rec (the
// snapshot's BTYD columns, in snapshot order).
func (s *scorer) predictCLV(rec arrow.RecordBatch) error {
	x, tx, T, mx, err := btydSummary(rec)
	if err != nil {
		return err
	}
	horizonWeeks := float64(s.cfg.CLVHorizon) / daysPerWeek
	steps, stepRate := monthlyCashFlows(float64(s.cfg.CLVHorizon), s.cfg.DiscountRate)
	s.pred = make([]float64, 3*len(x))
	ix := models.IndexRF(x, tx, T) // grouped once for both
	models.PredictAllIndexed(s.pred, s.clv, ix, x, mx, horizonWeeks, steps, stepRate)
	s.nextWeeks = make([]float64, len(x))
	return models.MedianNextPurchaseIndexed(s.nextWeeks, s.clv.Purchases, ix, s.pred, horizonWeeks)
}

func newScorer(cfg Config, sp *scorePrep, asOf time.Time) (*scorer, error) {
	s := &scorer{cfg: cfg, churnArt: &sp.churnArt, clvArt: &sp.clvArt, asOf: asOf, version: sp.modelVersion()}
	var err error
	if s.clf, err = s.churnArt.Classifier(s.clvArt); err != nil {
		return nil, err
	}
	if s.clv, err = s.clvArt.Model(); err != nil {
		return nil, err
	}
	s.explainer = s.churnArt.Explainer(s.clf)
	s.reasoner = newReasoner(cfg.Lang, s.churnArt.Features, s.churnArt.Means, s.churnArt.Directions)
	return s, nil
}

// scoreRows fills l's rows from at on and inputs (one each per row of
// rec, a snapshot batch, in order), with pred and nextWeeks the rows'
// share of predictCLV's: beside each row what the action rules read. It
// releases rec as soon as its columns are copied out, before the models
// run.
func (s *scorer) scoreRows(rec arrow.RecordBatch, l *list, at int, inputs []actionInput, pred, nextWeeks []float64) error {
	cfg, churnArt := s.cfg, s.churnArt
	release := sync.OnceFunc(rec.Release)
	defer release()
	X, err := featureMatrix(rec, cfg.Workers)
	if err != nil {
		return err
	}
	ids, err := features.Strings(rec, features.CustomerID)
	if err != nil {
		return err
	}
	cols := map[string][]float64{}
	for _, name := range []string{features.RScore, features.FScore, features.LastOrderDate, features.DaysSinceComplaint,
		features.DiscountOrderShare, features.OverdueRatio} {
		if cols[name], err = features.Float64s(rec, name); err != nil {
			return err
		}
	}
	rfm, err := textCodes(rec, features.RFMCell, &l.texts)
	if err != nil {
		return err
	}
	tiers, err := textCodes(rec, features.LoyaltyTier, &l.texts)
	if err != nil {
		return err
	}
	npsClass, err := textCodes(rec, features.NPSClass, &l.texts)
	if err != nil {
		return err
	}
	// Under contractual churn a customer cancelled by the as-of day has
	// churned: probability 1, and the cancellation is the reason.
	canChurn, err := atRisk(rec, churnArt.ChurnDefinition())
	if err != nil {
		return err
	}
	sinceCancel, err := features.Float64s(rec, features.DaysSinceCancel)
	if err != nil {
		return err
	}
	subscription, err := textCodes(rec, features.SubscriptionStatus, &l.texts)
	if err != nil {
		return err
	}
	release()
	clf := s.clf
	p := len(features.ModelColumns)
	if at+len(ids) > len(l.rows) || len(inputs) != len(ids) || len(pred) != 3*len(ids) || len(nextWeeks) != len(ids) {
		return fmt.Errorf("pipeline: %d score rows for %d customers", len(l.rows)-at, len(ids))
	}
	rows := l.rows[at : at+len(ids)]
	// A GBDT champion that explains itself predicts in the same pass over
	// its trees (chunk by chunk, below); else every row at once: the
	// models' fast paths.
	joint, _ := clf.(*models.GBDT)
	if joint == nil || s.explainer != clf || !joint.ExplainPredicts() {
		joint = nil
	}
	var raw []float64
	if joint == nil {
		raw = clf.PredictAll(X)
	} else {
		raw = make([]float64, len(ids))
	}
	codes := make([]uint8, len(churnArt.Features)) // each model feature's reason code, looked up once
	for j, name := range churnArt.Features {
		codes[j] = reasonCode[name]
	}
	explainer := s.explainer
	// score fills rows[i]; contrib holds row i's contributions when
	// explained, else it is scratch for them.
	score := func(i int, contrib []float64, explained bool) {
		xi := X[i*p : (i+1)*p]
		var prob float64
		var text string
		var top reasonSet
		if canChurn[i] {
			prob = churnArt.Calibrate(raw[i])
			if !explained {
				explainer.Explain(contrib, xi)
			}
			idx := s.reasoner.top(xi, contrib)
			text = s.reasons.get(s.reasoner.text(idx, xi))
			for k, j := range idx {
				if j >= 0 {
					top[k] = codes[j] // a model feature: prepareScore checked
				}
			}
		} else { // gone: no further orders or value expected under the contract
			prob, top = 1, reasonSet{reasonCode[features.DaysSinceCancel]}
			en, zh := reasonText[features.DaysSinceCancel](sinceCancel[i], math.NaN(), wantsOf(cfg.Lang))
			text = s.reasons.get(inLang(cfg.Lang, en, zh))
			pred[3*i], pred[3*i+1], pred[3*i+2], nextWeeks[i] = 0, 0, 0, math.NaN()
		}
		value := math.Max(0, pred[3*i+2])
		r, f := int8(cols[features.RScore][i]), int8(cols[features.FScore][i])
		next := int64(noDay)
		if w := nextWeeks[i]; !math.IsNaN(w) {
			next = int64(math.Round(w * daysPerWeek))
		}
		inputs[i] = actionInput{subscription: subscription[i], daysSinceComplaint: cols[features.DaysSinceComplaint][i],
			discount: cols[features.DiscountOrderShare][i], overdue: cols[features.OverdueRatio][i], reasons: top}
		rows[i] = listRow{
			id:           ids[i],
			prob:         round(prob, 4),
			risk:         riskIndex(cfg, prob),
			pAlive:       round(pred[3*i], 4),
			orders:       round(pred[3*i+1], 3),
			clv:          round(value, 2),
			valueAtRisk:  round(prob*value, 2),
			segment:      segmentCode(r, f),
			rfm:          rfm[i],
			loyalty:      tiers[i],
			satisfaction: npsClass[i],
			reasons:      text,
			lastDay:      int64(cols[features.LastOrderDate][i]),
			nextDay:      next,
			control:      cfg.ControlShare > 0 && inControl(cfg.Seed, cfg.ControlShare, ids[i]),
		}
	}
	batch, batched := explainer.(interface {
		ExplainBatch(dst, X []float64) float64
	})
	parallelChunks(cfg.Workers, len(rows), 256, func(lo, hi int) {
		if batched { // the GBDT explains a chunk tree by tree: faster than row by row
			contribs := make([]float64, (hi-lo)*p)
			if joint != nil {
				joint.ExplainPredictBatch(contribs, raw[lo:hi], X[lo*p:hi*p])
			} else {
				batch.ExplainBatch(contribs, X[lo*p:hi*p])
			}
			for i := lo; i < hi; i++ {
				score(i, contribs[(i-lo)*p:(i-lo+1)*p], true)
			}
			return
		}
		contrib := make([]float64, p)
		for i := lo; i < hi; i++ {
			score(i, contrib, false)
		}
	})
	return nil
}

// dayMemo gives f(d) for d in [lo, hi] from a table made at once (at most
// maxDayMemo days), and computes it for the others: the same strings, but a
// few hundred shared by a million customers instead of one each.
type dayMemo struct {
	lo  int64
	tab []string
	f   func(int64) string
}

const maxDayMemo = 1 << 14

func newDayMemo(lo, hi int64, f func(int64) string) dayMemo {
	m := dayMemo{lo: lo, f: f}
	if lo > hi || uint64(hi)-uint64(lo) >= maxDayMemo { // the difference, without overflow
		return m
	}
	m.tab = make([]string, hi-lo+1)
	for k := range m.tab {
		m.tab[k] = f(lo + int64(k))
	}
	return m
}

func (m dayMemo) get(d int64) string {
	if k := uint64(d) - uint64(m.lo); d >= m.lo && k < uint64(len(m.tab)) {
		return m.tab[k]
	}
	return m.f(d)
}

// parallelChunks runs fn over [0, n) in fixed chunks on workers
// goroutines; each chunk is independent, so results do not depend on them.
func parallelChunks(workers, n, chunk int, fn func(lo, hi int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for lo := range next {
				fn(lo, min(lo+chunk, n))
			}
		})
	}
	for lo := 0; lo < n; lo += chunk {
		next <- lo
	}
	close(next)
	wg.Wait()
}

// rankRows sorts by value at risk (desc), then churn probability (desc),
// then customer id: the rank of a row is its place, 1..n. The ids are
// distinct, so the order is a total one and any sort gives the same rows:
// with two workers or more, the rows are split around the median of a
// sample and the two sides sorted at once (a million 104-byte rows took
// 0.32 s on one core while the other waited). Rows with a NaN, which the
// order does not rank, are sorted on one core as they always were.
func rankRows(l *list, workers int) {
	rows := l.rows
	if workers < 2 || len(rows) < 1<<15 || slices.ContainsFunc(rows, func(r listRow) bool { return math.IsNaN(r.valueAtRisk) || math.IsNaN(r.prob) }) {
		slices.SortFunc(rows, compareRank)
		l.ranked = true
		return
	}
	sample := make([]listRow, 0, 255)
	for i := range cap(sample) {
		sample = append(sample, rows[i*(len(rows)-1)/(cap(sample)-1)])
	}
	slices.SortFunc(sample, compareRank)
	pivot := sample[len(sample)/2]
	k := 0 // rows[:k] rank before the pivot
	for i := range rows {
		if compareRank(rows[i], pivot) < 0 {
			rows[i], rows[k] = rows[k], rows[i]
			k++
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(rows[:k], compareRank) })
	slices.SortFunc(rows[k:], compareRank)
	wg.Wait()
	l.ranked = true
}

// compareRank is the list's order (rankRows).
func compareRank(a, b listRow) int {
	if a.valueAtRisk != b.valueAtRisk {
		if a.valueAtRisk > b.valueAtRisk {
			return -1
		}
		return 1
	}
	if a.prob != b.prob {
		if a.prob > b.prob {
			return -1
		}
		return 1
	}
	return strings.Compare(a.id, b.id)
}

// round rounds to d decimals so the CSV and Parquet agree.
func round(v float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

// rankRisk sets the permille ranks of the churn probability among all rows
// and within each RFM segment: 1000 × the share with a probability at or
// below the row's.
func rankRisk(rows []listRow, workers int) {
	all := make([]float64, len(rows))
	bySeg := map[uint8][]float64{}
	for i, r := range rows {
		all[i] = r.prob
		bySeg[r.segment] = append(bySeg[r.segment], r.prob)
	}
	permille := func(sorted []float64) func(p float64) uint16 {
		count := countAtOrBelow(sorted, func(p float64) int { return sort.SearchFloat64s(sorted, math.Nextafter(p, math.Inf(1))) })
		return func(p float64) uint16 { return uint16(math.Round(1000 * float64(count(p)) / float64(len(sorted)))) }
	}
	features.SortFloats(all) // a radix sort: slices.Sort's order, a sixth of its time
	overall, inSeg := permille(all), map[uint8]func(float64) uint16{}
	for s, v := range bySeg {
		features.SortFloats(v)
		inSeg[s] = permille(v)
	}
	parallelChunks(workers, len(rows), 8192, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			rows[i].permille = overall(rows[i].prob)
			rows[i].segPermille = inSeg[rows[i].segment](rows[i].prob)
		}
	})
}

// countAtOrBelow returns a function giving how many values of sorted
// (ascending, as slices.Sort leaves it) are at or below p: for a finite p
// that sorted holds, from a table of its distinct values (a probability
// has four decimals: ten thousand values, not millions, to search), and
// otherwise as search says, which must agree with it there.
func countAtOrBelow(sorted []float64, search func(p float64) int) func(p float64) int {
	var vals []float64
	var counts []int
	for i, v := range sorted {
		if n := len(vals); n > 0 && vals[n-1] == v {
			counts[n-1] = i + 1
			continue
		}
		vals, counts = append(vals, v), append(counts, i+1)
	}
	return func(p float64) int {
		if k := sort.SearchFloat64s(vals, p); k < len(vals) && vals[k] == p && !math.IsInf(p, 0) {
			return counts[k]
		}
		return search(p)
	}
}
