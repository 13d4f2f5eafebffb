// Package layering checks that imports point downward (docs/ARCHITECTURE.md):
// cmd → pipeline → features → datasets, pipeline → models; models never
// imports Arrow, datasets or features; only datasets touches Parquet.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/churn-dev/churn"

// allowed lists, per package, the project packages it may import.
var allowed = map[string][]string{
	"cmd/churn":           {"pipeline", "datasets"},
	"pipeline":            {"features", "models", "datasets", "internal/offheap"},
	"features":            {"datasets"},
	"models":              {"internal/offheap"},
	"datasets":            {},
	"internal/testutil":   {},
	"internal/offheap":    {},
	"internal/layering":   {},
	"internal/benchtable": {},
	"internal/e2ebench":   {},                       // runs the churn binary, imports none of ours
	"internal/peers":      {"pipeline", "datasets"}, // a command, like cmd/churn
	"notebooks":           {},
}

// forbiddenExternal lists third-party import prefixes a package must not use.
var forbiddenExternal = map[string][]string{
	"models":   {"github.com/apache/arrow-go", "github.com/parquet-go"},
	"features": {"github.com/parquet-go", "github.com/apache/arrow-go/v18/parquet"},
	"pipeline": {"github.com/parquet-go", "github.com/apache/arrow-go/v18/parquet"},
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("package %s has no layering rule: add it to allowed in internal/layering", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module+"/") {
				dep := strings.TrimPrefix(imp, module+"/")
				if !contains(ok, dep) {
					t.Errorf("%s imports %s: not allowed (allowed: %v)", pkg, dep, ok)
				}
				continue
			}
			for _, bad := range forbiddenExternal[pkg] {
				if strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s: only datasets may", pkg, imp)
				}
			}
		}
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
