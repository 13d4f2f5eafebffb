// Package testutil holds test helpers with no domain meaning.
package testutil

import (
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
