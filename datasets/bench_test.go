package datasets

import (
	"context"
	"path/filepath"
	"testing"
)

func BenchmarkGenerate10k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(context.Background(), SyntheticConfig{Customers: 10000, Seed: 1}, b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadTransactionsCSV(b *testing.B) {
	dir := b.TempDir()
	st, err := Generate(context.Background(), SyntheticConfig{Customers: 10000, Seed: 1}, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadTransactionsCSV(context.Background(), filepath.Join(dir, "transactions.csv"), ReadOptions{}, func(Transaction) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Lines+st.Refunds)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
