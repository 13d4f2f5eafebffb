package features

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// QuintileScore returns 1..5: the quintile of v among sorted (ascending),
// using the mid-rank of ties so equal values always share a score.
func QuintileScore(sorted []float64, v float64) int8 {
	n := len(sorted)
	if n == 0 {
		return 3
	}
	lo := sort.SearchFloat64s(sorted, v)
	hi := lo + sort.Search(n-lo, func(i int) bool { return sorted[lo+i] > v })
	mid := (float64(lo) + float64(hi)) / 2 / float64(n) // share of values below, ties halved
	s := 1 + int8(math.Floor(5*mid))
	return min(max(s, 1), 5)
}

// RFMValues are the values a part brings to the RFM quintiles, a row each:
// recency negated (recent is better), orders and spend.
type RFMValues struct{ Rec, Freq, Mon []float64 }

// RFMInputs returns p's RFMValues (copies: p may be released after).
func RFMInputs(p arrow.RecordBatch) (RFMValues, error) {
	r, err := Float64s(p, RecencyDays)
	if err != nil {
		return RFMValues{}, err
	}
	f, err := Float64s(p, Orders)
	if err != nil {
		return RFMValues{}, err
	}
	m, err := Float64s(p, SpendCents)
	if err != nil {
		return RFMValues{}, err
	}
	for i := range r {
		r[i] = -r[i]
	}
	return RFMValues{Rec: r, Freq: f, Mon: m}, nil
}

// RFMScorer scores rows against the quintiles of every part's values.
type RFMScorer struct{ sr, sf, sm quintiles }

// quintiles holds what QuintileScore gives the values a scorer was made
// from. Scores grow with the value (a larger value's run of ties starts
// where a smaller one's ends), so each score from 2 on starts at a bound:
// the smallest value that reaches it. A lookup is then four comparisons
// instead of two binary searches among a million spends.
type quintiles struct {
	bounds   [4]float64 // bounds[s-2]: the smallest value of score s or more
	nb       int        // the scores above 1 some value reaches
	low      int8       // the lowest score: 1 (3 when there are no values)
	nanScore int8       // QuintileScore of a NaN
}

func newQuintiles(sorted []float64) quintiles {
	q := quintiles{low: 1, nanScore: QuintileScore(sorted, math.NaN())}
	n := len(sorted)
	if n == 0 {
		q.low = QuintileScore(nil, 0)
	}
	for lo := 0; lo < n; {
		v, hi := sorted[lo], lo+1
		for hi < n && sorted[hi] == v {
			hi++
		}
		if !math.IsNaN(v) {
			// The run [lo, hi) is what QuintileScore's two searches find for v.
			mid := (float64(lo) + float64(hi)) / 2 / float64(n)
			for s := min(max(1+int(math.Floor(5*mid)), 1), 5); q.nb+1 < s; q.nb++ {
				q.bounds[q.nb] = v
			}
		}
		lo = hi
	}
	return q
}

// of returns QuintileScore(sorted, v) for v one of the sorted values the
// quintiles were made from, or a NaN. (Another value gets the score of the
// largest of them below it.)
func (q *quintiles) of(v float64) int8 {
	if v != v {
		return q.nanScore
	}
	s := q.low
	for _, b := range q.bounds[:q.nb] {
		if v >= b {
			s++
		}
	}
	return s
}

// NewRFMScorer sorts the values of every part (in part order; the parts
// are not changed).
func NewRFMScorer(parts []RFMValues) *RFMScorer {
	var sr, sf, sm []float64
	for _, v := range parts {
		sr, sf, sm = append(sr, v.Rec...), append(sf, v.Freq...), append(sm, v.Mon...)
	}
	var sc RFMScorer
	var wg sync.WaitGroup
	for _, d := range []struct {
		q *quintiles
		v []float64
	}{{&sc.sr, sr}, {&sc.sf, sf}, {&sc.sm, sm}} {
		wg.Go(func() {
			SortFloats(d.v)
			*d.q = newQuintiles(d.v)
		})
	}
	wg.Wait()
	return &sc
}

// RFMFields are the columns RFMScorer.Columns returns, in order; a scored
// snapshot has them after the builder's.
func RFMFields() []arrow.Field { return slices.Clone(rfmFields) }

// Columns returns the r_score, f_score, m_score and rfm_cell columns of the
// rows v, a part of those the scorer was made from. The caller releases
// them.
func (sc *RFMScorer) Columns(mem memory.Allocator, v RFMValues) []arrow.Array {
	n := len(v.Rec)
	rb := array.NewInt8Builder(mem)
	fb := array.NewInt8Builder(mem)
	mb := array.NewInt8Builder(mem)
	cb := array.NewStringBuilder(mem)
	rb.Reserve(n)
	fb.Reserve(n)
	mb.Reserve(n)
	cb.Reserve(n)
	cb.ReserveData(3 * n)
	for i := range n {
		r, f, m := sc.sr.of(v.Rec[i]), sc.sf.of(v.Freq[i]), sc.sm.of(v.Mon[i])
		rb.UnsafeAppend(r)
		fb.UnsafeAppend(f)
		mb.UnsafeAppend(m)
		cb.Append(rfmCells[r][f][m])
	}
	cols := []arrow.Array{rb.NewArray(), fb.NewArray(), mb.NewArray(), cb.NewArray()}
	for _, b := range []array.Builder{rb, fb, mb, cb} {
		b.Release()
	}
	return cols
}

// rfmCells are the 125 "rfm" strings, so scoring allocates none per row.
var rfmCells = func() (c [6][6][6]string) {
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				c[r][f][m] = string([]byte{'0' + byte(r), '0' + byte(f), '0' + byte(m)})
			}
		}
	}
	return
}()

// Segment names the standard RFM segment of recency and frequency scores
// (1..5), after the widely used R×F grid (e.g. Putler's and Klaviyo's RFM
// segment maps), with "Lost" for the least recent one-off buyers.
func Segment(r, f int8) string {
	switch {
	case r >= 5 && f >= 4:
		return "Champions"
	case r >= 3 && f >= 4:
		return "Loyal"
	case r >= 4 && f >= 2:
		return "Potential loyalist"
	case r == 5 && f == 1:
		return "New"
	case r == 4 && f == 1:
		return "Promising"
	case r == 3 && f == 3:
		return "Need attention"
	case r == 3 && f <= 2:
		return "About to sleep"
	case r <= 2 && f == 5:
		return "Can't lose them"
	case r <= 2 && f >= 3:
		return "At risk"
	case r == 2:
		return "Hibernating"
	default:
		return "Lost"
	}
}

func column(rec arrow.RecordBatch, name string) (arrow.Array, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("features: no column %q", name)
	}
	return rec.Column(idx[0]), nil
}

// Float64s returns a numeric column as float64 values; nulls become NaN.
func Float64s(rec arrow.RecordBatch, name string) ([]float64, error) {
	c, err := NumberColumn(rec, name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, c.Len())
	c.Fill(out, 1, nil, 0, len(out))
	return out, nil
}

// Numbers reads a numeric column (float64, int64, int8, boolean or date32)
// as float64 values, nulls as NaN, without copying it first.
type Numbers struct {
	a     arrow.Array
	f64   []float64
	i64   []int64
	i8    []int8
	d32   []arrow.Date32
	b     *array.Boolean
	nulls bool
}

// NumberColumn returns rec's column name for reading as numbers.
func NumberColumn(rec arrow.RecordBatch, name string) (Numbers, error) {
	a, err := column(rec, name)
	if err != nil {
		return Numbers{}, err
	}
	n := Numbers{a: a, nulls: a.NullN() > 0}
	switch c := a.(type) {
	case *array.Float64:
		n.f64 = c.Float64Values()
	case *array.Int64:
		n.i64 = c.Int64Values()
	case *array.Int8:
		n.i8 = c.Int8Values()
	case *array.Boolean:
		n.b = c
	case *array.Date32:
		n.d32 = c.Date32Values()
	default:
		return Numbers{}, fmt.Errorf("features: column %q has type %s, want a number", name, a.DataType())
	}
	return n, nil
}

// Len is the column's number of rows.
func (n *Numbers) Len() int { return n.a.Len() }

// Fill writes the values of rows lo..hi−1 of the selection rows (of the
// column's rows 0, 1, … when rows is nil) to dst[0], dst[stride], … — a
// column of a row-major matrix when stride is its width.
func (n *Numbers) Fill(dst []float64, stride int, rows []int, lo, hi int) {
	switch {
	case n.f64 != nil:
		fillFrom(dst, stride, n.f64, rows, lo, hi)
	case n.i64 != nil:
		fillFrom(dst, stride, n.i64, rows, lo, hi)
	case n.i8 != nil:
		fillFrom(dst, stride, n.i8, rows, lo, hi)
	case n.d32 != nil:
		fillFrom(dst, stride, n.d32, rows, lo, hi)
	case n.b != nil:
		for r := lo; r < hi; r++ {
			i := r
			if rows != nil {
				i = rows[r]
			}
			v := 0.0
			if n.b.Value(i) {
				v = 1
			}
			dst[(r-lo)*stride] = v
		}
	}
	if !n.nulls {
		return
	}
	for r := lo; r < hi; r++ {
		i := r
		if rows != nil {
			i = rows[r]
		}
		if n.a.IsNull(i) {
			dst[(r-lo)*stride] = math.NaN()
		}
	}
}

func fillFrom[T ~float64 | ~int64 | ~int32 | ~int8](dst []float64, stride int, vals []T, rows []int, lo, hi int) {
	if rows == nil {
		for r := lo; r < hi; r++ {
			dst[(r-lo)*stride] = float64(vals[r])
		}
		return
	}
	for r := lo; r < hi; r++ {
		dst[(r-lo)*stride] = float64(vals[rows[r]])
	}
}

// Strings returns a string column's values (copied).
func Strings(rec arrow.RecordBatch, name string) ([]string, error) {
	a, err := column(rec, name)
	if err != nil {
		return nil, err
	}
	c, ok := a.(*array.String)
	if !ok {
		return nil, fmt.Errorf("features: column %q has type %s, want string", name, a.DataType())
	}
	// Copies, not views of rec's buffers; repeated values (segments,
	// tiers, classes) share one copy, so a million rows are not a million
	// small allocations.
	out := make([]string, c.Len())
	shared := map[string]string{}
	for i := range out {
		v := c.Value(i)
		if s, ok := shared[v]; ok {
			out[i] = s
			continue
		}
		out[i] = strings.Clone(v)
		if len(shared) < maxSharedStrings {
			shared[out[i]] = out[i]
		}
	}
	return out, nil
}

// maxSharedStrings bounds the distinct values Strings shares (a column of
// ids has as many as rows).
const maxSharedStrings = 1024

// HasColumn reports whether rec has a column called name.
func HasColumn(rec arrow.RecordBatch, name string) bool {
	return len(rec.Schema().FieldIndices(name)) > 0
}
