package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

func TestIsRemote(t *testing.T) {
	for in, want := range map[string]bool{"s3://b/p": true, "gs://b": true, "s3://b/p?endpoint=http://x:9000": true, "/tmp/w": false, "w": false,
		"file:///tmp/w": false, `C:\work`: false, "": false} {
		if got := IsRemote(in); got != want {
			t.Errorf("IsRemote(%q) = %v", in, got)
		}
	}
	if got := LocalWorkdir("file:///tmp/w"); got != filepath.FromSlash("/tmp/w") {
		t.Errorf("LocalWorkdir(file:///tmp/w) = %s", got)
	}
}

// remoteOn returns a Remote on bucket b with its copy in dir.
func remoteOn(t *testing.T, b *blob.Bucket, dir string) *Remote {
	t.Helper()
	r := &Remote{URL: "mem://test", Local: dir, b: b, state: map[string]syncEntry{}}
	if raw, err := os.ReadFile(filepath.Join(dir, syncState)); err == nil {
		if err := json.Unmarshal(raw, &r.state); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func writeLocal(t *testing.T, dir, key, body string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRemotePushPull(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	a := t.TempDir()
	ra := remoteOn(t, b, a)
	if _, err := ra.Pull(ctx, nil); err != nil { // an empty store
		t.Fatal(err)
	}
	writeLocal(t, a, "lists/as-of=2025-12-31/list.csv", "rows")
	writeLocal(t, a, "lists/as-of=2025-12-31/_manifest.json", "{}")
	writeLocal(t, a, "lists/LATEST", "2025-12-31")
	writeLocal(t, a, "warehouse/transactions/bucket=000/part.parquet", "b0")
	writeLocal(t, a, "warehouse/transactions/bucket=001/part.parquet", "b1")
	writeLocal(t, a, "warehouse/transactions/_manifest.json", "{}")
	writeLocal(t, a, ".lock", "")
	writeLocal(t, a, "features/.cutoff=2025-01-01.tmp-1/part-000.parquet", "half")
	if err := ra.Push(ctx); err != nil {
		t.Fatal(err)
	}
	keys := map[string]time.Time{}
	it := b.List(nil)
	for {
		o, err := it.Next(ctx)
		if err != nil {
			break
		}
		keys[o.Key] = o.ModTime
	}
	want := []string{"lists/LATEST", "lists/as-of=2025-12-31/_manifest.json", "lists/as-of=2025-12-31/list.csv",
		"warehouse/transactions/_manifest.json", "warehouse/transactions/bucket=000/part.parquet", "warehouse/transactions/bucket=001/part.parquet"}
	got := make([]string, 0, len(keys))
	for k := range keys {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("store holds %v, want %v (nothing hidden)", got, want)
	}
	// Files before their manifest, pointers after every manifest.
	if !keys["lists/as-of=2025-12-31/list.csv"].Before(keys["lists/as-of=2025-12-31/_manifest.json"]) ||
		!keys["warehouse/transactions/bucket=001/part.parquet"].Before(keys["warehouse/transactions/_manifest.json"]) ||
		!keys["warehouse/transactions/_manifest.json"].Before(keys["lists/LATEST"]) {
		t.Errorf("upload order: %v", keys)
	}

	// Another machine's copy, of shard-like scope: bucket 1 left out.
	c := t.TempDir()
	rc := remoteOn(t, b, c)
	keep := func(key string) bool { return !strings.Contains(key, "bucket=001") }
	if _, err := rc.Pull(ctx, keep); err != nil {
		t.Fatal(err)
	}
	if body, _ := os.ReadFile(filepath.Join(c, "lists", "LATEST")); string(body) != "2025-12-31" {
		t.Errorf("pulled LATEST = %q", body)
	}
	if _, err := os.Stat(filepath.Join(c, "warehouse/transactions/bucket=001/part.parquet")); !os.IsNotExist(err) {
		t.Errorf("a refused file was fetched (%v)", err)
	}
	// Nothing changed: pushing again sends and deletes nothing, and the
	// refused file stays in the store.
	if err := rc.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Exists(ctx, "warehouse/transactions/bucket=001/part.parquet"); !ok {
		t.Error("a push deleted a file its copy never held")
	}
	// The first machine changes a file and removes a list; the second sees both.
	time.Sleep(5 * time.Millisecond)
	writeLocal(t, a, "warehouse/transactions/bucket=000/part.parquet", "b0 v2")
	writeLocal(t, a, "lists/LATEST", "2026-01-01")
	if err := os.RemoveAll(filepath.Join(a, "lists", "as-of=2025-12-31")); err != nil {
		t.Fatal(err)
	}
	ra = remoteOn(t, b, a) // a later command: the state comes from the copy's record
	if err := ra.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Exists(ctx, "lists/as-of=2025-12-31/list.csv"); ok {
		t.Error("the removed list is still in the store")
	}
	if _, err := rc.Pull(ctx, keep); err != nil {
		t.Fatal(err)
	}
	if body, _ := os.ReadFile(filepath.Join(c, "warehouse/transactions/bucket=000/part.parquet")); string(body) != "b0 v2" {
		t.Errorf("changed file pulled as %q", body)
	}
	if _, err := os.Stat(filepath.Join(c, "lists", "as-of=2025-12-31", "list.csv")); !os.IsNotExist(err) {
		t.Errorf("a file the store removed stays in the copy (%v)", err)
	}
}

// TestRemoteFollowsManifests: a folder whose files in the store are not
// those its manifest names is left out of the copy (the warehouse is an
// error); a push that died is finished by the copy's next pull.
func TestRemoteFollowsManifests(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	a := t.TempDir()
	ra := remoteOn(t, b, a)
	for _, dir := range []string{"models/churn/v1", "warehouse/transactions"} {
		if err := CommitFolder(filepath.Join(a, filepath.FromSlash(dir)), func(tmp string) (Manifest, error) {
			return Manifest{Kind: "x"}, os.WriteFile(filepath.Join(tmp, "model.json"), []byte("v1"), 0o600)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ra.Push(ctx); err != nil {
		t.Fatal(err)
	}
	// Another writer is half way through rewriting the model folder.
	if err := b.WriteAll(ctx, "models/churn/v1/model.json", []byte("v2 half written"), nil); err != nil {
		t.Fatal(err)
	}
	c := t.TempDir()
	rc := remoteOn(t, b, c)
	broken, err := rc.Pull(ctx, nil)
	if err != nil || !slices.Equal(broken, []string{"models/churn/v1"}) {
		t.Fatalf("Pull = %v, %v; want the model folder left out", broken, err)
	}
	if Committed(filepath.Join(c, "models", "churn", "v1")) {
		t.Error("the inconsistent folder is still committed in the copy")
	}
	if !Committed(filepath.Join(c, "warehouse", "transactions")) {
		t.Error("the consistent folder is missing from the copy")
	}
	// The same in the warehouse stops the command.
	if err := b.WriteAll(ctx, "warehouse/transactions/model.json", []byte("half"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := remoteOn(t, b, t.TempDir()).Pull(ctx, nil); err == nil || !strings.Contains(err.Error(), "does not match its manifest") {
		t.Errorf("Pull over a half-written warehouse: %v", err)
	}

	// A push that died after its marker: the next pull of that copy finishes it.
	d := t.TempDir()
	rd := remoteOn(t, b, d)
	if _, err := rd.Pull(ctx, func(string) bool { return true }); err == nil {
		t.Fatal("want the warehouse error again")
	}
	b.WriteAll(ctx, "warehouse/transactions/model.json", []byte("v1"), nil) // the writer finished
	if _, err := rd.Pull(ctx, nil); err != nil {
		t.Fatal(err)
	}
	writeLocal(t, d, "lists/LATEST", "2026-01-02")
	if err := WriteFileAtomic(filepath.Join(d, pushPending), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := remoteOn(t, b, d).Pull(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.ReadAll(ctx, "lists/LATEST"); string(got) != "2026-01-02" {
		t.Errorf("the interrupted push was not finished: LATEST = %q", got)
	}
	if _, err := os.Stat(filepath.Join(d, pushPending)); !os.IsNotExist(err) {
		t.Error("the push marker stayed")
	}
}

// TestRemoteCopyLocked: two commands cannot work on one local copy.
func TestRemoteCopyLocked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := OpenRemote(ctx, "mem://", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRemote(ctx, "mem://", dir); !errors.Is(err, ErrLocked) {
		t.Errorf("a second command on the same copy: %v, want ErrLocked", err)
	}
	a.Close()
	b, err := OpenRemote(ctx, "mem://", dir)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	b.Close()
}
