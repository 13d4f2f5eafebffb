// Package notebooks holds the Jupyter notebooks (GoNB kernel) that data
// scientists start from; `make notebooks` runs them. This test keeps the
// committed notebooks clean: valid, on the GoNB kernel, without outputs.
package notebooks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type notebook struct {
	NBFormat int `json:"nbformat"`
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
	Cells []struct {
		CellType       string          `json:"cell_type"`
		Source         json.RawMessage `json:"source"`
		Outputs        []any           `json:"outputs"`
		ExecutionCount *int            `json:"execution_count"`
	} `json:"cells"`
}

func source(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	_ = json.Unmarshal(raw, &lines)
	return strings.Join(lines, "")
}

func TestNotebooksCommittedClean(t *testing.T) {
	paths, err := filepath.Glob("*.ipynb")
	if err != nil || len(paths) < 3 {
		t.Fatalf("notebooks %v, %v", paths, err)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var nb notebook
		if err := json.Unmarshal(b, &nb); err != nil {
			t.Errorf("%s: not a notebook: %v", path, err)
			continue
		}
		if nb.NBFormat != 4 || nb.Metadata.Kernelspec.Name != "gonb" {
			t.Errorf("%s: nbformat %d, kernel %q; want 4 and gonb", path, nb.NBFormat, nb.Metadata.Kernelspec.Name)
		}
		setup := false
		for i, c := range nb.Cells {
			if c.CellType != "code" {
				continue
			}
			if len(c.Outputs) > 0 || c.ExecutionCount != nil {
				t.Errorf("%s: cell %d has outputs: strip them before committing (jupyter nbconvert --clear-output --inplace %s)", path, i, path)
			}
			src := source(c.Source)
			if strings.Contains(src, "@latest") {
				t.Errorf("%s: cell %d fetches @latest: pin versions (the module proxy here refuses @latest)", path, i)
			}
			if strings.Contains(src, "-replace=github.com/churn-dev/churn=${GONB_DIR}/..") {
				setup = true
			}
		}
		if !setup {
			t.Errorf("%s: no setup cell pointing the churn module at the repository", path)
		}
	}
}
