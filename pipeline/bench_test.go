package pipeline

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkRun times the whole chain (ingest, three snapshots, train, score)
// on the 4000-customer test shop.
func BenchmarkRun(b *testing.B) {
	dir, err := shop()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), Config{Workdir: b.TempDir()}, asOf,
			IngestInput{Transactions: filepath.Join(dir, "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
			b.Fatal(err)
		}
	}
}
