package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// A run leaves runs/<id>/run.json with every stage, the inputs' hashes and
// the model versions, and points lists/LATEST at its list; a backfill does
// not move LATEST back; a failed run says where it failed; a run killed
// mid-way shows as interrupted; a second run cannot start while one holds
// the lock.
func TestRunManifestAndLatest(t *testing.T) {
	work := t.TempDir()
	res := runChain(t, work)
	m, err := ShowRun(work, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range m.Stages {
		names = append(names, s.Name+":"+s.Status)
	}
	if m.Status != "ok" || strings.Join(names, " ") != "ingest:ok features:ok train:ok score:ok guards:ok publish:ok" || m.AsOf != "2025-12-31" ||
		len(m.Inputs) != 2 || len(m.Inputs[0].SHA256) != 64 || m.Inputs[0].Bytes == 0 || m.Versions.ChurnModel == "" || m.Versions.CLVModel == "" ||
		m.List != res.Score.Dir || m.Config.Workdir != work || m.Seed != 1 || m.Stages[1].Rows != 4000 {
		t.Fatalf("manifest %+v", m)
	}
	if Latest(work) != "2025-12-31" {
		t.Fatalf("LATEST = %q", Latest(work))
	}
	// Customer data is the owner's alone: nothing in the work directory is
	// readable by group or others.
	filepath.WalkDir(work, func(path string, d os.DirEntry, err error) error {
		if info, ierr := d.Info(); path != work && err == nil && ierr == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", path, info.Mode().Perm())
		}
		return nil
	})
	// A backfill of an earlier day publishes its list but keeps LATEST.
	back, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC), IngestInput{})
	if err != nil {
		t.Fatal(err)
	}
	if Latest(work) != "2025-12-31" || back.RunID == res.RunID {
		t.Errorf("after a backfill LATEST = %q, run ids %s %s", Latest(work), back.RunID, res.RunID)
	}
	// A failing run: the stage and error are recorded, LATEST stays.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("customer_id,ts,amount\na,yesterday,1\nb,also bad,2\n"), 0o644)
	failed, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{Transactions: bad, Now: asOf})
	if err == nil {
		t.Fatal("bad input: want an error")
	}
	fm, _ := ShowRun(work, failed.RunID)
	if fm.Status != "failed" || len(fm.Stages) != 1 || fm.Stages[0].Status != "failed" || fm.Error == "" || Latest(work) != "2025-12-31" {
		t.Errorf("failed run: %+v, LATEST %s", fm, Latest(work))
	}
	// A run killed mid-way: its manifest still says running, but no process holds the lock.
	killed := RunManifest{ID: "20250101T000000Z", AsOf: "2025-01-01", Status: "running", Stages: []StageRecord{{Name: "train", Status: "running"}}}
	tr := &runTracker{path: filepath.Join(work, RunsDir, killed.ID, "run.json"), m: killed}
	if err := tr.write(); err != nil {
		t.Fatal(err)
	}
	runs, err := ListRuns(work)
	if err != nil || len(runs) != 4 || runs[len(runs)-1].Status != "interrupted" || runs[0].ID < runs[1].ID {
		t.Fatalf("runs: %v %+v", err, runs)
	}
	// One run at a time.
	unlock, err := datasets.LockWorkdir(work)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, err = Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{})
	if !errors.Is(err, datasets.ErrLocked) || !strings.Contains(err.Error(), "held by pid") {
		t.Errorf("second run: %v", err)
	}
}

// PSI by hand: half the scores in the lowest and half in the highest bin,
// then a quarter and three quarters.
func TestPSI(t *testing.T) {
	var a, b []float64
	for i := range 100 {
		a = append(a, map[bool]float64{true: 0.05, false: 0.95}[i < 50])
		b = append(b, map[bool]float64{true: 0.05, false: 0.95}[i < 25])
	}
	want := 0.25*math.Log(2) + 0.25*math.Log(1.5)
	if got := binnedPSI(a, b); math.Abs(got-want) > 1e-12 {
		t.Errorf("binnedPSI = %v, want %v", got, want)
	}
	if got := binnedPSI(a, a); got != 0 {
		t.Errorf("PSI of a distribution with itself = %v", got)
	}
	x := make([]float64, 1000)
	y := make([]float64, 1000)
	for i := range x {
		x[i], y[i] = float64(i), float64(i)+500 // half shifted out of the reference's range
	}
	if got := quantilePSI(x, x); got != 0 {
		t.Errorf("quantilePSI(x, x) = %v", got)
	}
	if got := quantilePSI(x, y); got < 1 {
		t.Errorf("quantilePSI of a large shift = %v", got)
	}
}

// A volume drop (the export lost the last three weeks) stops the run with
// ErrGuard: the list is written, but lists/LATEST keeps naming yesterday's.
func TestVolumeGuardStops(t *testing.T) {
	work := t.TempDir()
	runChain(t, work) // yesterday's list, 2025-12-31
	raw, err := os.ReadFile(filepath.Join(shopDir(t), "transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if i == 0 || !strings.Contains(line, ",2025-12-1") && !strings.Contains(line, ",2025-12-2") && !strings.Contains(line, ",2025-12-3") {
			kept = append(kept, line)
		}
	}
	cut := filepath.Join(t.TempDir(), "cut.csv")
	os.WriteFile(cut, []byte(strings.Join(kept, "\n")+"\n"), 0o644)
	other := t.TempDir()
	if _, err := Run(context.Background(), Config{Workdir: other, Buckets: 4, Guards: Guards{Volume: GuardOff}}, time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC),
		IngestInput{Transactions: cut, Now: asOf}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Config{Workdir: other, Buckets: 4}, asOf, IngestInput{})
	if !errors.Is(err, ErrGuard) || !strings.Contains(err.Error(), "volume") {
		t.Fatalf("want the volume guard to stop the run, got %v", err)
	}
	if Latest(other) != "2025-11-30" || !datasets.Committed(datasets.ListDir(other, "2025-12-31")) {
		t.Errorf("LATEST = %q; the stopped list should be written but not live", Latest(other))
	}
	m, _ := ShowRun(other, res.RunID)
	if m.Status != "stopped" || len(m.Guards) != 4 || !m.Guards[0].Tripped || m.Guards[0].Value > 0.5 {
		t.Errorf("manifest %+v", m)
	}
	// The scores guard's PSI is that of the two lists' probabilities as
	// their whole rows give them.
	probs := func(day string) []float64 {
		rows, err := datasets.ReadScoresParquet(filepath.Join(datasets.ListDir(other, day), datasets.ScoresParquet))
		if err != nil {
			t.Fatal(err)
		}
		p := make([]float64, len(rows))
		for i, r := range rows {
			p[i] = r.ChurnProbability
		}
		return p
	}
	i := slices.IndexFunc(m.Guards, func(g GuardResult) bool { return g.Guard == "scores" })
	if want := binnedPSI(probs("2025-11-30"), probs("2025-12-31")); i < 0 || m.Guards[i].Value != want || want == 0 {
		t.Errorf("scores guard %+v, want PSI %v", m.Guards, want)
	}
	// In warn mode the same data publish.
	if _, err := Run(context.Background(), Config{Workdir: other, Buckets: 4, Guards: Guards{Volume: GuardWarn}}, asOf, IngestInput{}); err != nil || Latest(other) != "2025-12-31" {
		t.Errorf("warn mode: %v, LATEST %s", err, Latest(other))
	}
}

// Pruning keeps the live list, the current run and everything within the
// window; the rest goes, leaving nothing half-deleted.
func TestPrune(t *testing.T) {
	work := t.TempDir()
	for _, day := range []string{"2025-01-01", "2025-06-01", "2025-12-01", "2025-12-31"} {
		os.MkdirAll(filepath.Join(datasets.ListDir(work, day), "x"), 0o755)
	}
	os.WriteFile(filepath.Join(work, datasets.ListsDir, LatestFile), []byte("2025-06-01\n"), 0o644)
	for id, day := range map[string]string{"r1": "2025-01-01", "r2": "2025-12-20", "now": "2025-01-02"} {
		tr := &runTracker{path: filepath.Join(work, RunsDir, id, "run.json"), m: RunManifest{ID: id, AsOf: day, Status: "ok"}}
		if err := tr.write(); err != nil {
			t.Fatal(err)
		}
	}
	n, err := prune(Config{Workdir: work, KeepDays: 90}, asOf, "now")
	if err != nil || n != 2 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	var left []string
	for _, dir := range []string{datasets.ListsDir, RunsDir} {
		es, _ := os.ReadDir(filepath.Join(work, dir))
		for _, e := range es {
			left = append(left, e.Name())
		}
	}
	if got := strings.Join(left, " "); got != "LATEST as-of=2025-06-01 as-of=2025-12-01 as-of=2025-12-31 now r2" {
		t.Errorf("left %q", got)
	}
}

// childRunEnv makes the test binary run one churn run and exit (see
// TestMain); childDieAfterEnv makes it die right after the named stage;
// childForceEnv makes the run redo every stage (--force).
const (
	childRunEnv      = "CHURN_TEST_CHILD_RUN"
	childDieAfterEnv = "CHURN_TEST_DIE_AFTER"
	childForceEnv    = "CHURN_TEST_FORCE"
)

// runChildRun is the child side: CHURN_TEST_CHILD_RUN=workdir|as-of.
func runChildRun(spec string) {
	work, day, _ := strings.Cut(spec, "|")
	d, _ := ParseDate(day)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM) // as the CLI does
	defer stop()
	if die := os.Getenv(childDieAfterEnv); die != "" {
		afterStage = func(stage string) {
			if stage == die {
				os.Exit(137) // as if killed right at the boundary
			}
		}
	}
	// --force: every child does the whole run, so the kills land in every
	// stage however fast the machine (reusing what killed runs committed,
	// later children used to end before they could be killed).
	if _, err := Run(ctx, Config{Workdir: work, Buckets: 4, Force: os.Getenv(childForceEnv) != ""}, d, IngestInput{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Killing a run (SIGTERM and SIGKILL, alternately) at many points — in features, train, score,
// publishing — leaves the live list complete (its manifest and every file
// it lists) and the killed run marked interrupted; the next run completes
// and its list is byte-identical to one of a run never interrupted.
func TestRunSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	nov := time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC)
	setUp := func() string {
		work := t.TempDir()
		if _, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, nov,
			IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		return work
	}
	work := setUp()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for i := range 20 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childRunEnv+"="+work+"|2025-12-31", childForceEnv+"=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(60+i*110) * time.Millisecond)
		if i%2 == 0 {
			cmd.Process.Signal(syscall.SIGTERM) // the run stops itself
		} else {
			cmd.Process.Kill()
		}
		state, _ := cmd.Process.Wait()
		live := Latest(work)
		dir := datasets.ListDir(work, live)
		m, err := datasets.ReadManifest(dir)
		if err != nil {
			t.Fatalf("kill %d: the live list %s is unreadable: %v", i, live, err)
		}
		for _, f := range m.Files {
			if st, err := os.Stat(filepath.Join(dir, f.Path)); err != nil || st.Size() != f.Bytes {
				t.Fatalf("kill %d: live list file %s missing or wrong size (%v)", i, f.Path, err)
			}
		}
		if state != nil && state.Success() {
			break // the child finished before the kill
		}
		if live == "2025-12-31" {
			// Killed after its publish stage moved LATEST (the list checked
			// whole above), in the run record's last writes or the exit:
			// the run's work was done.
			break
		}
		kills++
		if live != "2025-11-30" {
			t.Fatalf("kill %d: LATEST moved to %s by a run that did not finish", i, live)
		}
	}
	runs, _ := ListRuns(work)
	interrupted := 0
	for _, r := range runs {
		if r.Status == "interrupted" {
			interrupted++
		}
	}
	t.Logf("%d kills, %d runs marked interrupted", kills, interrupted)
	if kills < 5 || interrupted < kills-1 { // a kill before the manifest was written leaves none
		t.Errorf("%d kills, %d runs interrupted", kills, interrupted)
	}
	if _, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{}); err != nil {
		t.Fatal(err)
	}
	clean := setUp()
	if _, err := Run(context.Background(), Config{Workdir: clean, Buckets: 4}, asOf, IngestInput{}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(datasets.ListDir(work, "2025-12-31"), datasets.RetentionListCSV))
	b, _ := os.ReadFile(filepath.Join(datasets.ListDir(clean, "2025-12-31"), datasets.RetentionListCSV))
	if len(a) == 0 || string(a) != string(b) || Latest(work) != "2025-12-31" {
		t.Errorf("after %d kills the list differs from an uninterrupted run's (%d vs %d bytes), LATEST %s", kills, len(a), len(b), Latest(work))
	}
}

// A rerun with unchanged inputs reuses the snapshot, the models and the
// list; --force redoes them all and gets the same bytes.
func TestRerunReusesAndForceRedoes(t *testing.T) {
	work := t.TempDir()
	first := runChain(t, work)
	list := filepath.Join(first.Score.Dir, datasets.RetentionListCSV)
	before, _ := os.ReadFile(list)
	again, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Features.Reused || !again.Train.Reused || !again.Score.Reused || again.Train.ChurnVersion != first.Train.ChurnVersion {
		t.Errorf("rerun reused features %v, train %v, score %v", again.Features.Reused, again.Train.Reused, again.Score.Reused)
	}
	if again.Score.Customers != first.Score.Customers || len(again.Score.Top) == 0 || !reflect.DeepEqual(again.Score.Top, first.Score.Top) {
		t.Errorf("reused list: %d customers, top %+v; the first run's %d, %+v", again.Score.Customers, again.Score.Top, first.Score.Customers, first.Score.Top)
	}
	m, _ := ShowRun(work, again.RunID)
	if m.Stages[1].Detail != "reused: inputs unchanged" || m.Stages[2].Detail != "reused: inputs unchanged" {
		t.Errorf("stages %+v", m.Stages)
	}
	// Another setting that shapes the list: rescored, models kept.
	other, err := Run(context.Background(), Config{Workdir: work, Buckets: 4, ContactCost: 5}, asOf, IngestInput{})
	if err != nil || other.Score.Reused || !other.Train.Reused {
		t.Errorf("contact cost changed: score reused %v, train reused %v, %v", other.Score.Reused, other.Train.Reused, err)
	}
	forced, err := Run(context.Background(), Config{Workdir: work, Buckets: 4, Force: true}, asOf, IngestInput{})
	if err != nil || forced.Features.Reused || forced.Train.Reused || forced.Score.Reused {
		t.Fatalf("--force: %+v, %v", forced, err)
	}
	after, _ := os.ReadFile(list)
	// The retrained model is the same model; it does not beat the champion
	// (equal ROC AUC), so the champion and the list stay as they were.
	if string(before) != string(after) || forced.Train.Promotion.Promoted || forced.Train.Promotion.ChampionVersion != first.Train.ChurnVersion {
		t.Errorf("a forced rerun changed the list (%v) or the model (%s → %s, %+v)", string(before) != string(after), first.Train.ChurnVersion, forced.Train.ChurnVersion, forced.Train.Promotion)
	}
	// A scores file cut short is not reused: the list is made again.
	scores := filepath.Join(first.Score.Dir, datasets.ScoresParquet)
	if fi, err := os.Stat(scores); err != nil || os.Truncate(scores, fi.Size()-1) != nil {
		t.Fatal("cannot cut the scores file", err)
	}
	cut, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{})
	if err != nil || cut.Score.Reused {
		t.Errorf("a cut scores file: score reused %v, %v", cut.Score.Reused, err)
	}
}

// Generated data that shifts — every amount of the last quarter ten times
// larger, as after a currency switch — trips the drift guard: in stop mode
// the run exits with ErrGuard naming the spend features.
func TestDriftGuardStops(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(shopDir(t), "transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for i, line := range lines[1:] {
		f := strings.Split(line, ",")
		if f[2] >= "2025-10-01" { // ts; amount is the next column
			cents, err := datasets.ParseAmount(f[3], '.')
			if err != nil {
				t.Fatal(err)
			}
			f[3] = datasets.FormatCents(cents * 10)
			lines[i+1] = strings.Join(f, ",")
		}
	}
	shifted := filepath.Join(t.TempDir(), "shifted.csv")
	os.WriteFile(shifted, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	work := t.TempDir()
	_, err = Run(context.Background(), Config{Workdir: work, Buckets: 4, Guards: Guards{Drift: GuardStop}}, asOf,
		IngestInput{Transactions: shifted, Now: asOf.AddDate(0, 0, 1)})
	if !errors.Is(err, ErrGuard) || !strings.Contains(err.Error(), "drift") || !strings.Contains(err.Error(), "spend_90d") {
		t.Fatalf("want the drift guard to stop the run naming spend_90d, got %v", err)
	}
	if Latest(work) != "" {
		t.Errorf("LATEST = %q after a stopped first run", Latest(work))
	}
}

// Two runs started together on one work directory: one runs, the other
// stops at once with ErrLocked and writes nothing.
func TestConcurrentRuns(t *testing.T) {
	work := t.TempDir()
	in := IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, in)
			errs <- err
		}()
	}
	a, b := <-errs, <-errs
	if (a == nil) == (b == nil) || !errors.Is(errors.Join(a, b), datasets.ErrLocked) {
		t.Fatalf("two runs: %v and %v; want one success and one ErrLocked", a, b)
	}
	runs, _ := ListRuns(work)
	if len(runs) != 1 || runs[0].Status != "ok" || Latest(work) != "2025-12-31" {
		t.Errorf("runs %+v, LATEST %s", runs, Latest(work))
	}
}

// A full disk while the new list is written (injected into the storage
// layer): the run fails, nothing half-written is left, yesterday's list
// stays live and complete; with space again, the rerun completes.
func TestDiskFullKeepsYesterday(t *testing.T) {
	work := t.TempDir()
	nov := time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC)
	if _, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, nov,
		IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	full := syscall.ENOSPC
	for _, victim := range []string{"cutoff=2025-12-31", "as-of=2025-12-31", "LATEST"} { // each run gets one stage further
		datasets.SetWriteFault(func(path string) error {
			if strings.Contains(path, victim) {
				return full
			}
			return nil
		})
		_, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{})
		datasets.SetWriteFault(nil)
		if !errors.Is(err, full) {
			t.Fatalf("%s: want ENOSPC, got %v", victim, err)
		}
		if victim != "LATEST" && datasets.Committed(datasets.ListDir(work, "2025-12-31")) {
			t.Errorf("%s: a list was committed by a failed run", victim)
		}
		if Latest(work) != "2025-11-30" || !datasets.Committed(datasets.ListDir(work, "2025-11-30")) {
			t.Fatalf("%s: LATEST %q, yesterday's list committed %v", victim, Latest(work), datasets.Committed(datasets.ListDir(work, "2025-11-30")))
		}
		matches, _ := filepath.Glob(filepath.Join(work, "*", ".*.tmp-*"))
		if len(matches) > 0 {
			t.Errorf("%s: temporary files left: %v", victim, matches)
		}
	}
	if _, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{}); err != nil || Latest(work) != "2025-12-31" {
		t.Errorf("rerun with space: %v, LATEST %s", err, Latest(work))
	}
}

// Dying exactly at every stage boundary (after features, train, score,
// guards, publish): the live list is always complete, LATEST moves only
// with publish, and the next run completes.
func TestRunDiesAtEveryStageBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	work := t.TempDir()
	if _, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC),
		IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{"features", "train", "score", "guards", "publish"} {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childRunEnv+"="+work+"|2025-12-31", childDieAfterEnv+"="+stage)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("after %s: the child did not die: %s", stage, out)
		}
		want := "2025-11-30"
		if stage == "publish" {
			want = "2025-12-31"
		}
		live := Latest(work)
		if live != want || !datasets.Committed(datasets.ListDir(work, live)) {
			t.Fatalf("died after %s: LATEST %q (want %s), committed %v", stage, live, want, datasets.Committed(datasets.ListDir(work, live)))
		}
		runs, _ := ListRuns(work)
		if runs[0].Status != "interrupted" || runs[0].Stages[len(runs[0].Stages)-1].Name != stage {
			t.Errorf("died after %s: newest run %+v", stage, runs[0])
		}
	}
	if res, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, IngestInput{}); err != nil || !res.Score.Reused {
		t.Errorf("the run after the deaths: %v (list reused %v)", err, res.Score.Reused)
	}
}

// rankKeys finds at each rank the value a sort would, and quantilePSI
// equals its sort-based definition, on data with ties, runs, signed zeros,
// values one bit apart and every ordering.
func TestRankKeysAndQuantilePSI(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	sortedPSI := func(a, b []float64) float64 { // the definition: sort, cut at the deciles
		ref := slices.DeleteFunc(slices.Clone(a), math.IsNaN)
		slices.Sort(ref)
		var edges []float64
		for k := 1; k < 10 && len(ref) > 0; k++ {
			if e := ref[k*len(ref)/10]; len(edges) == 0 || e > edges[len(edges)-1] {
				edges = append(edges, e)
			}
		}
		return psi(a, b, len(edges)+2, func(v float64) int {
			if math.IsNaN(v) {
				return len(edges) + 1
			}
			i, _ := slices.BinarySearch(edges, v)
			if i < len(edges) && edges[i] == v {
				i++
			}
			return i
		})
	}
	gen := func(n, kind int) []float64 {
		a := make([]float64, n)
		for i := range a {
			switch kind {
			case 0:
				a[i] = r.NormFloat64()
			case 1:
				a[i] = float64(r.IntN(4)) // heavy ties
			case 2:
				a[i] = float64(i) // sorted
			case 3:
				a[i] = float64(n - i) // reversed
			case 4:
				a[i] = []float64{0, math.Copysign(0, -1), 1, math.NaN()}[r.IntN(4)]
			case 5: // keys sharing their top bits: selection goes down every level
				a[i] = math.Float64frombits(math.Float64bits(1.5) + uint64(r.IntN(3)))
			case 6:
				a[i] = -math.Exp(r.NormFloat64() * 30)
			default:
				a[i] = float64(i % 7)
			}
		}
		return a
	}
	for _, n := range []int{1, 2, 9, 10, 33, 100, 1000, 50_000} {
		for kind := range 8 {
			a := slices.DeleteFunc(gen(n, kind), math.IsNaN)
			ranks := []int{}
			for k := 1; k < 10 && len(a) > 0; k++ {
				ranks = append(ranks, k*len(a)/10)
			}
			want := slices.Clone(a)
			slices.Sort(want)
			keys := make([]uint64, len(a))
			for i, v := range a {
				keys[i] = features.FloatKey(v)
			}
			before := slices.Clone(keys)
			got := rankKeys(keys, ranks)
			for i, rk := range ranks {
				if v := features.KeyFloat(got[i]); v != want[rk] {
					t.Fatalf("n %d kind %d: rank %d holds %v, sorted %v", n, kind, rk, v, want[rk])
				}
			}
			if !slices.Equal(keys, before) {
				t.Fatalf("n %d kind %d: rankKeys changed its keys", n, kind)
			}
			x, y := gen(n, kind), gen(n+n/3, (kind+1)%8)
			if g, w := quantilePSI(x, y), sortedPSI(x, y); math.Float64bits(g) != math.Float64bits(w) {
				t.Fatalf("n %d kind %d: quantilePSI %v, sort-based %v", n, kind, g, w)
			}
		}
	}
}
