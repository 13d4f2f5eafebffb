package features

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
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

// ScoreRFM returns copies of parts with r_score, f_score, m_score (1..5,
// quintiles over all parts together; 5 = most recent, most orders, most spend)
// and rfm_cell ("545") appended. The inputs are not released.
func ScoreRFM(mem memory.Allocator, parts []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	var rec, freq, mon []float64
	for _, p := range parts {
		r, err := Float64s(p, RecencyDays)
		if err != nil {
			return nil, err
		}
		f, err := Float64s(p, Orders)
		if err != nil {
			return nil, err
		}
		m, err := Float64s(p, SpendCents)
		if err != nil {
			return nil, err
		}
		for i := range r {
			r[i] = -r[i] // recent is better
		}
		rec, freq, mon = append(rec, r...), append(freq, f...), append(mon, m...)
	}
	sr, sf, sm := slices.Clone(rec), slices.Clone(freq), slices.Clone(mon)
	var wg sync.WaitGroup
	for _, v := range [][]float64{sr, sf, sm} {
		wg.Go(func() { slices.Sort(v) })
	}
	wg.Wait()
	out := make([]arrow.RecordBatch, len(parts))
	offs := make([]int, len(parts)+1)
	for i, p := range parts {
		offs[i+1] = offs[i] + int(p.NumRows())
	}
	// Parts are scored in parallel (each into its own builders), then kept in order.
	next := make(chan int)
	for range min(len(parts), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for k := range next {
				out[k] = scorePart(mem, parts[k], rec[offs[k]:offs[k+1]], freq[offs[k]:offs[k+1]], mon[offs[k]:offs[k+1]], sr, sf, sm)
			}
		})
	}
	for k := range parts {
		next <- k
	}
	close(next)
	wg.Wait()
	return out, nil
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

// scorePart appends the RFM scores of one part's rows to a copy of it.
func scorePart(mem memory.Allocator, p arrow.RecordBatch, rec, freq, mon, sr, sf, sm []float64) arrow.RecordBatch {
	n := int(p.NumRows())
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
		r, f, m := QuintileScore(sr, rec[i]), QuintileScore(sf, freq[i]), QuintileScore(sm, mon[i])
		rb.UnsafeAppend(r)
		fb.UnsafeAppend(f)
		mb.UnsafeAppend(m)
		cb.Append(rfmCells[r][f][m])
	}
	newCols := []arrow.Array{rb.NewArray(), fb.NewArray(), mb.NewArray(), cb.NewArray()}
	for _, b := range []array.Builder{rb, fb, mb, cb} {
		b.Release()
	}
	fields := append(slices.Clone(p.Schema().Fields()), rfmFields...)
	cols := append(slices.Clone(p.Columns()), newCols...)
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, c := range newCols {
		c.Release()
	}
	return out
}

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
	a, err := column(rec, name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, a.Len())
	switch c := a.(type) {
	case *array.Float64:
		copy(out, c.Float64Values())
	case *array.Int64:
		for i, v := range c.Int64Values() {
			out[i] = float64(v)
		}
	case *array.Int8:
		for i, v := range c.Int8Values() {
			out[i] = float64(v)
		}
	case *array.Boolean:
		for i := range out {
			if c.Value(i) {
				out[i] = 1
			}
		}
	case *array.Date32:
		for i, v := range c.Date32Values() {
			out[i] = float64(v)
		}
	default:
		return nil, fmt.Errorf("features: column %q has type %s, want a number", name, a.DataType())
	}
	for i := range out {
		if a.IsNull(i) {
			out[i] = math.NaN()
		}
	}
	return out, nil
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
	out := make([]string, c.Len())
	for i := range out {
		out[i] = string([]byte(c.Value(i)))
	}
	return out, nil
}

// HasColumn reports whether rec has a column called name.
func HasColumn(rec arrow.RecordBatch, name string) bool {
	return len(rec.Schema().FieldIndices(name)) > 0
}
