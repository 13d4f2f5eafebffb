package features

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkBuilder aggregates 100k rows of 10k customers (10 orders each).
func BenchmarkBuilder(b *testing.B) {
	var rows []tx
	for c := 0; c < 10000; c++ {
		for k := 0; k < 10; k++ {
			ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k*17+c%13).Format(time.RFC3339)
			rows = append(rows, tx{fmt.Sprintf("%08d", c), fmt.Sprint(c, "-", k), ts, int64(1000 + k), "books"})
		}
	}
	mem := memory.DefaultAllocator
	recs := batches(b, mem, rows, 64*1024)
	b.ReportAllocs()
	for b.Loop() {
		fb, _ := NewBuilder(Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Labelled: true})
		for _, r := range recs {
			if err := fb.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		fb.Finish().Release()
		fb.Release()
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
