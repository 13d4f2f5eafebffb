package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/churn-dev/churn/datasets"
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

// shop1M is a generated shop of one million customers (about 12 million
// order lines over three years), made once per benchmark binary.
var shop1M = sync.OnceValues(func() (string, error) { return generateShop(1_000_000, 1) })

// tempShops are the generated shops TestMain removes.
var tempShops struct {
	sync.Mutex
	dirs []string
}

// generateShop writes a synthetic shop into a new temporary folder.
func generateShop(customers int, seed uint64) (string, error) {
	dir, err := os.MkdirTemp("", "churn-shop-")
	if err != nil {
		return "", err
	}
	tempShops.Lock()
	tempShops.dirs = append(tempShops.dirs, dir)
	tempShops.Unlock()
	_, err = datasets.Generate(context.Background(), datasets.SyntheticConfig{Customers: customers, Seed: seed}, dir)
	return dir, err
}

// BenchmarkIngest1M times CSV → warehouse for one million customers (issue
// 4's goal: ≤ 2 s for 5.8M rows; DuckDB loads and writes Parquet in 1.3 s).
func BenchmarkIngest1M(b *testing.B) {
	dir, err := shop1M()
	if err != nil {
		b.Fatal(err)
	}
	var rows int64
	for b.Loop() {
		res, err := Ingest(context.Background(), Config{Workdir: b.TempDir()}, IngestInput{Transactions: filepath.Join(dir, "transactions.csv"), Now: asOf.AddDate(0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		rows = res.Read
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// warehouse1M is shop1M ingested once into a temporary work directory.
var warehouse1M = sync.OnceValues(func() (string, error) {
	dir, err := shop1M()
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "churn-work-")
	if err != nil {
		return "", err
	}
	tempShops.Lock()
	tempShops.dirs = append(tempShops.dirs, work)
	tempShops.Unlock()
	_, err = Ingest(context.Background(), Config{Workdir: work}, IngestInput{Transactions: filepath.Join(dir, "transactions.csv"), Now: asOf.AddDate(0, 0, 1)})
	return work, err
})

// BenchmarkFeatures1M times a feature snapshot of one million customers,
// every family (issue 8's and 12's goal: ≤ 1.5 s; pandas 8 s).
func BenchmarkFeatures1M(b *testing.B) {
	work, err := warehouse1M()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := os.RemoveAll(filepath.Join(work, datasets.FeaturesDir)); err != nil {
			b.Fatal(err)
		}
		if _, err := Features(context.Background(), Config{Workdir: work}, asOf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKPIs1M times the KPI book of one million customers (issue 12's
// goal: ≤ 1 s).
func BenchmarkKPIs1M(b *testing.B) {
	work, err := warehouse1M()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := KPIs(context.Background(), Config{Workdir: work}, asOf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMain removes the generated shops after the package's tests and
// benchmarks.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childIngestEnv); spec != "" {
		runChildIngest(spec)
	}
	if spec := os.Getenv(childRunEnv); spec != "" {
		runChildRun(spec)
	}
	code := m.Run()
	tempShops.Lock()
	for _, dir := range tempShops.dirs {
		os.RemoveAll(dir)
	}
	tempShops.Unlock()
	os.Exit(code)
}
