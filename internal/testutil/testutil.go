// Package testutil holds test helpers with no domain meaning.
package testutil

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SharedData returns the path of a file under ../shared/data (relative to the
// repository root). When it is absent the test is skipped, or fails when CI=true.
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	p := filepath.Join(root, "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data %s missing in CI: %v", p, err)
		}
		t.Skipf("shared data %s not present (needs ../shared beside the repo): %v", p, err)
	}
	return p
}

// ReadCSV returns every record of a CSV file, header included; any error
// fails the test.
func ReadCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}
