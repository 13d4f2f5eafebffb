package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// RunsDir holds one folder per run: runs/<run-id>/run.json.
const RunsDir = "runs"

// LatestFile names the newest published list (its as-of day) under lists/.
const LatestFile = "LATEST"

// RunManifest is what a run did, written to runs/<id>/run.json when it
// starts and after every stage, so a killed run shows where it stopped.
type RunManifest struct {
	ID       string        `json:"id"`
	AsOf     string        `json:"as_of"`
	Status   string        `json:"status"` // running, ok, failed
	Error    string        `json:"error,omitempty"`
	Started  string        `json:"started"`
	Finished string        `json:"finished,omitempty"`
	Seconds  float64       `json:"seconds,omitempty"`
	Seed     uint64        `json:"seed"`
	Config   Config        `json:"config"`
	Versions RunVersions   `json:"versions"`
	Inputs   []InputFile   `json:"inputs,omitempty"`
	Stages   []StageRecord `json:"stages"`
	List     string        `json:"list,omitempty"` // the list folder written
	Guards   []GuardResult `json:"guards,omitempty"`
	PID      int           `json:"pid"`
	Host     string        `json:"host"`
}

// RunVersions are the binary's and the models' versions.
type RunVersions struct {
	Binary      string `json:"binary"`
	VCSRevision string `json:"vcs_revision,omitempty"`
	VCSModified bool   `json:"vcs_modified,omitempty"`
	Go          string `json:"go"`
	ChurnModel  string `json:"churn_model,omitempty"`
	CLVModel    string `json:"clv_model,omitempty"`
}

// InputFile fingerprints one input of a run.
type InputFile struct {
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
	Skipped bool   `json:"skipped,omitempty"` // ingested before: its content was already in the warehouse
}

// StageRecord is one stage of a run.
type StageRecord struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"` // running, ok, failed
	Started string  `json:"started"`
	Seconds float64 `json:"seconds"`
	Rows    int64   `json:"rows"`
	Detail  string  `json:"detail,omitempty"`
}

// runTracker keeps a run's manifest on disk up to date.
type runTracker struct {
	path  string
	m     RunManifest
	start time.Time
}

func buildVersions() RunVersions {
	v := RunVersions{Binary: "(devel)"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Binary, v.Go = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.VCSRevision = s.Value
			case "vcs.modified":
				v.VCSModified = s.Value == "true"
			}
		}
	}
	return v
}

// startRun creates runs/<id>/run.json (a suffix makes the id unique).
func startRun(cfg Config, asOf time.Time) (*runTracker, error) {
	id := cfg.RunID
	if id == "" {
		id = time.Now().UTC().Format("20060102T150405Z")
	}
	base := id
	for n := 2; ; n++ {
		if _, err := os.Stat(filepath.Join(cfg.Workdir, RunsDir, id)); errors.Is(err, os.ErrNotExist) {
			break
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	t := &runTracker{path: filepath.Join(cfg.Workdir, RunsDir, id, "run.json"), start: now,
		m: RunManifest{ID: id, AsOf: dateString(asOf), Status: "running", Started: now.Format(time.RFC3339), Seed: cfg.Seed,
			Config: cfg, Versions: buildVersions(), PID: os.Getpid(), Host: host}}
	return t, t.write()
}

func (t *runTracker) write() error {
	b, err := json.MarshalIndent(t.m, "", "  ")
	if err != nil {
		return fmt.Errorf("pipeline: run manifest: %w", err)
	}
	return datasets.WriteFileAtomic(t.path, append(b, '\n'))
}

// stage runs fn as a named stage and records its status, rows and time.
func (t *runTracker) stage(name string, fn func() (rows int64, detail string, err error)) error {
	start := time.Now()
	t.m.Stages = append(t.m.Stages, StageRecord{Name: name, Status: "running", Started: start.UTC().Format(time.RFC3339)})
	if err := t.write(); err != nil {
		return err
	}
	rows, detail, err := fn()
	s := &t.m.Stages[len(t.m.Stages)-1]
	s.Seconds, s.Rows, s.Detail, s.Status = time.Since(start).Round(time.Millisecond).Seconds(), rows, detail, "ok"
	if err != nil {
		s.Status = "failed"
	}
	if werr := t.write(); err == nil {
		err = werr
	}
	if err == nil && afterStage != nil {
		afterStage(name)
	}
	return err
}

// afterStage, when set (by tests), is called after every stage that
// succeeded: fault injection at exact stage boundaries.
var afterStage func(stage string)

// finish records the outcome.
func (t *runTracker) finish(err error) error {
	t.m.Finished = time.Now().UTC().Format(time.RFC3339)
	t.m.Seconds = time.Since(t.start).Round(time.Millisecond).Seconds()
	t.m.Status = "ok"
	switch {
	case errors.Is(err, ErrGuard):
		t.m.Status, t.m.Error = "stopped", err.Error()
	case errors.Is(err, context.Canceled): // SIGTERM or Ctrl-C
		t.m.Status, t.m.Error = "interrupted", err.Error()
	case err != nil:
		t.m.Status, t.m.Error = "failed", err.Error()
	}
	return t.write()
}

// publishLatest points lists/LATEST at asOf unless a newer list is there already.
func publishLatest(workdir string, asOf time.Time) error {
	path := filepath.Join(workdir, datasets.ListsDir, LatestFile)
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) > dateString(asOf) {
		return nil // a backfill does not move the pointer back
	}
	return datasets.WriteFileAtomic(path, []byte(dateString(asOf)+"\n"))
}

// Latest returns the as-of day lists/LATEST names ("" if none).
func Latest(workdir string) string {
	b, err := os.ReadFile(filepath.Join(workdir, datasets.ListsDir, LatestFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ListRuns returns the manifests of the runs in workdir, newest first. A
// run still marked running whose process is gone is reported as
// "interrupted".
func ListRuns(workdir string) ([]RunManifest, error) {
	entries, err := os.ReadDir(filepath.Join(workdir, RunsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var out []RunManifest
	for _, e := range entries {
		m, err := ShowRun(workdir, e.Name())
		if err != nil {
			continue // a run folder without a readable manifest (e.g. created by hand)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b RunManifest) int { return strings.Compare(b.ID, a.ID) })
	return out, nil
}

// ShowRun reads one run's manifest.
func ShowRun(workdir, id string) (RunManifest, error) {
	var m RunManifest
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return m, fmt.Errorf("pipeline: run id %q", id)
	}
	b, err := os.ReadFile(filepath.Join(workdir, RunsDir, id, "run.json"))
	if err != nil {
		return m, fmt.Errorf("pipeline: run %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("pipeline: run %s: %w", id, err)
	}
	if m.Status == "running" { // a live run holds the work directory's lock
		if unlock, err := datasets.LockWorkdir(workdir); err == nil {
			unlock()
			m.Status = "interrupted"
		}
	}
	return m, nil
}

// prune removes lists and run folders whose as-of day is more than
// cfg.KeepDays before asOf, except the live list and the current run. Each
// folder is first renamed to a hidden temporary name, so an interrupted
// prune never leaves a half-deleted folder that looks complete
// (CleanStale removes the rest next time).
func prune(cfg Config, asOf time.Time, currentRun string) (int, error) {
	limit := dateString(asOf.AddDate(0, 0, -cfg.KeepDays))
	live := Latest(cfg.Workdir)
	var doomed []string
	lists, _ := os.ReadDir(filepath.Join(cfg.Workdir, datasets.ListsDir))
	for _, e := range lists {
		day, ok := strings.CutPrefix(e.Name(), "as-of=")
		if ok && e.IsDir() && day < limit && day != live {
			doomed = append(doomed, filepath.Join(cfg.Workdir, datasets.ListsDir, e.Name()))
		}
	}
	runs, err := ListRuns(cfg.Workdir)
	if err != nil {
		return 0, err
	}
	for _, r := range runs {
		if r.AsOf < limit && r.ID != currentRun {
			doomed = append(doomed, filepath.Join(cfg.Workdir, RunsDir, r.ID))
		}
	}
	for _, p := range doomed {
		tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp-prune")
		if err := os.Rename(p, tmp); err != nil {
			return 0, fmt.Errorf("pipeline: prune %s: %w", p, err)
		}
		if err := os.RemoveAll(tmp); err != nil {
			return 0, fmt.Errorf("pipeline: prune %s: %w", p, err)
		}
	}
	return len(doomed), nil
}
