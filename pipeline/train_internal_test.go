package pipeline

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// The builders reserve 1.1 times a bucket's share until a bucket of their
// cutoff is done, then 1.05 times the largest share seen, never more than
// 1.1; builders are estimated apart, and a nil estimate always gives 1.1.
func TestRowEstimate(t *testing.T) {
	var none *rowEstimate
	if got := none.reserve(0, 1000); got != 1101 {
		t.Errorf("nil estimate: %d, want 1101", got)
	}
	none.observe(0, 10, 1000) // no panic
	e := &rowEstimate{}
	if got := e.reserve(2, 1000); got != 1101 {
		t.Errorf("before any bucket: %d, want 1101", got)
	}
	e.observe(2, 500, 1000)
	e.observe(2, 600, 1000)
	e.observe(2, 550, 1000)
	e.observe(3, 2000, 1000)
	for _, c := range []struct{ k, want int }{{2, 631}, {3, 1101}, {4, 1101}} {
		if got := e.reserve(c.k, 1000); got != c.want {
			t.Errorf("builder %d: %d, want %d", c.k, got, c.want)
		}
	}
}

// Training lowers the collector's percent to 50 and puts it back; a lower
// percent stays, and so does the one a GOGC variable set.
func TestLowerGCPercent(t *testing.T) {
	percent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	for _, c := range []struct{ before, during int }{{100, lowGCPercent}, {200, lowGCPercent}, {20, 20}} {
		debug.SetGCPercent(c.before)
		restore := lowerGCPercent()
		if got := percent(); got != c.during {
			t.Errorf("from %d: %d while training, want %d", c.before, got, c.during)
		}
		restore()
		if got := percent(); got != c.before {
			t.Errorf("from %d: %d after, want it back", c.before, got)
		}
	}
	// Two trains at once: the percent stays lowered until both are done,
	// whatever the order they finish in.
	debug.SetGCPercent(100)
	a, b := lowerGCPercent(), lowerGCPercent()
	a()
	if got := percent(); got != lowGCPercent {
		t.Errorf("one of two trains done: %d, want %d", got, lowGCPercent)
	}
	a() // a second call does nothing
	b()
	if got := percent(); got != 100 {
		t.Errorf("both trains done: %d, want 100", got)
	}
	t.Setenv("GOGC", "300")
	debug.SetGCPercent(300)
	restore := lowerGCPercent()
	if got := percent(); got != 300 {
		t.Errorf("GOGC=300: %d while training", got)
	}
	restore()
}

// readInto (a column scan of the snapshot's parts) fills the design matrix
// as the Arrow path does (featureMatrix of the whole snapshot), to the
// bit: nulls as NaN, integer columns as floats; for a selection of rows
// across every part, and for none.
func TestReadIntoMatchesArrow(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Workdir: t.TempDir(), Buckets: 4, Workers: 2}
	if _, err := Ingest(ctx, cfg, IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Feedback: filepath.Join(shopDir(t), "feedback.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	fr, err := Features(ctx, cfg, asOf.AddDate(0, -3, 0))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := readSnapshot(ctx, fr.Dir, memory.DefaultAllocator, features.ModelColumns...)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	want, err := featureMatrix(rec, 2)
	if err != nil {
		t.Fatal(err)
	}
	p, n := len(features.ModelColumns), int(rec.NumRows())
	nulls := 0
	for _, v := range want {
		if math.IsNaN(v) {
			nulls++
		}
	}
	if n < 3000 || nulls == 0 {
		t.Fatalf("%d rows, %d nulls: the test needs a snapshot with both", n, nulls)
	}
	for _, every := range []int{1, 3, n + 1} {
		var rows []int
		for i := 0; i < n; i += every {
			rows = append(rows, i)
		}
		if every > n {
			rows = nil
		}
		got := make([]float64, len(rows)*p)
		if err := readInto(ctx, fr.Dir, got, rows); err != nil {
			t.Fatal(err)
		}
		for r, i := range rows {
			for j := range p {
				if a, b := got[r*p+j], want[i*p+j]; math.Float64bits(a) != math.Float64bits(b) {
					t.Fatalf("every %d: row %d column %s: scan %v, Arrow %v", every, i, features.ModelColumns[j], a, b)
				}
			}
		}
	}
}

// fillRows fills the design matrix from chunks of any length as the Arrow
// path (featureMatrix) does, to the bit: doubles and int64 columns (the
// snapshots' model columns' types), with and without nulls.
func TestFillRowsMatchesArrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	const n = 1000
	fields := make([]arrow.Field, len(features.ModelColumns))
	for j, name := range features.ModelColumns {
		typ := arrow.DataType(arrow.PrimitiveTypes.Float64)
		if j%3 == 1 {
			typ = arrow.PrimitiveTypes.Int64
		}
		fields[j] = arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		for j := range fields {
			if j%2 == 0 && rng.IntN(5) == 0 { // every other column has nulls
				b.Field(j).AppendNull()
				continue
			}
			switch fb := b.Field(j).(type) {
			case *array.Float64Builder:
				fb.Append(rng.NormFloat64())
			case *array.Int64Builder:
				fb.Append(int64(rng.IntN(1<<40)) - 1<<39)
			}
		}
		_ = i
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	want, err := featureMatrix(rec, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := len(fields)
	for _, size := range []int{1, 7, 300, n} {
		var parts []arrow.RecordBatch
		for lo := 0; lo < n; lo += size {
			parts = append(parts, rec.NewSlice(int64(lo), int64(min(lo+size, n))))
		}
		for _, every := range []int{1, 3} {
			var rows []int
			for i := 40; i < n; i += every { // the part starts at snapshot row 40
				rows = append(rows, i)
			}
			got := make([]float64, len(rows)*p)
			// The part's rows are the record's rows 40.. (its first 40 are
			// another part's): chunks from row 40 on.
			var chunks []arrow.RecordBatch
			at := 0
			for _, r := range parts {
				if at+int(r.NumRows()) > 40 {
					lo := max(0, 40-at)
					chunks = append(chunks, r.NewSlice(int64(lo), r.NumRows()))
				}
				at += int(r.NumRows())
			}
			if err := fillRows(got, rows, 40, datasets.RecordChunks(chunks)); err != nil {
				t.Fatal(err)
			}
			for _, c := range chunks {
				c.Release()
			}
			for r, i := range rows {
				for j := range p {
					if a, b := got[r*p+j], want[i*p+j]; math.Float64bits(a) != math.Float64bits(b) {
						t.Fatalf("chunks of %d, every %d: row %d column %d: %v, Arrow %v", size, every, i, j, a, b)
					}
				}
			}
		}
		for _, r := range parts {
			r.Release()
		}
	}
}

// bestLearnt, from the candidates judged before the others, is the model
// Train refits: the champion whenever the champion is the logit or the
// GBDT, whatever the candidate sets (failures, ties within the margin, the
// BTYD baseline or golearn best).
func TestBestLearntIsTheLearntChampion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	aucs := []float64{0.7, 0.7 + 5e-10, 0.7 + 2e-9, 0.75, 0.8}
	same := func(a, b ChurnCandidate) bool {
		return a.Model == b.Model && a.Rounds == b.Rounds && a.Error == b.Error && a.Validation.AUC == b.Validation.AUC
	}
	learntWins, baselineWins := 0, 0
	for range 5000 {
		var cands []ChurnCandidate
		for _, m := range []string{"logit", "gbdt", "golearn", "btyd"} {
			if rng.IntN(4) == 0 {
				continue
			}
			c := ChurnCandidate{Model: m, Rounds: rng.IntN(300)}
			if rng.IntN(6) == 0 {
				c.Error = "failed"
			} else {
				c.Validation.AUC = aucs[rng.IntN(len(aucs))]
			}
			cands = append(cands, c)
		}
		judgedFirst := slices.DeleteFunc(slices.Clone(cands), func(c ChurnCandidate) bool { return c.Model == "golearn" || c.Model == "btyd" })
		got := bestLearnt(judgedFirst)
		best := bestCandidate(cands)
		switch {
		case best >= 0 && (cands[best].Model == "logit" || cands[best].Model == "gbdt"):
			learntWins++
			if !same(got, cands[best]) {
				t.Fatalf("champion %+v, refitted %+v: %+v", cands[best], got, cands)
			}
		case best >= 0:
			baselineWins++
		}
		for _, c := range cands { // nothing failed or unlearnt is refitted
			if got.Model != "" && c.Model == got.Model && (c.Error != "" || !same(c, got)) {
				t.Fatalf("refitted %+v: %+v", got, cands)
			}
		}
	}
	if learntWins < 1000 || baselineWins < 500 {
		t.Errorf("the sets exercised %d learnt and %d baseline champions", learntWins, baselineWins)
	}
}
