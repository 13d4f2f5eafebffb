package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"

	"github.com/churn-dev/churn/datasets"
)

// fakeS3 starts an S3-compatible server in the test process (gofakes3,
// in memory) with one bucket and returns the work directory URL of
// prefix in it, and the bucket (its root) for reading objects.
func fakeS3(t *testing.T, prefix string) (string, *blob.Bucket) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("churn"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(ts.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	opts := "endpoint=" + ts.URL + "&use_path_style=true&disable_https=true&region=us-east-1"
	b, err := blob.OpenBucket(context.Background(), "s3://churn?"+opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return "s3://churn/" + prefix + "?" + opts, b
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := capture(t, args...)
	if code != 0 {
		t.Fatalf("churn %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestS3WorkdirShards runs the nightly chain against a real S3 API, as 4
// shards each with its own local copy (as on 4 machines) plus the
// unsharded steps — ingest, train and score in shards, then merge — and
// checks the published list is byte for byte the one a single local
// `churn run` publishes.
func TestS3WorkdirShards(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	url, bucket := fakeS3(t, "shops/demo")
	data, local := t.TempDir(), t.TempDir()
	mustRun(t, "generate", "--customers", "3000", "--seed", "5", "--out", data)
	tx, fb := filepath.Join(data, "transactions.csv"), filepath.Join(data, "feedback.csv")
	const day = "2025-12-31"
	quiet := []string{"--log-format", "json"}
	mustRun(t, append([]string{"run", "--workdir", local, "--as-of", day, "--transactions", tx, "--feedback", fb, "--buckets", "8"}, quiet...)...)

	machine := func(name string) { t.Setenv("CHURN_CACHE_DIR", filepath.Join(t.TempDir(), name)) }
	for i := range 4 {
		machine("shard" + strconv.Itoa(i))
		mustRun(t, append([]string{"ingest", "--workdir", url, "--transactions", tx, "--feedback", fb, "--buckets", "8", "--shard", strconv.Itoa(i) + "/4"}, quiet...)...)
	}
	machine("ingest")
	mustRun(t, append([]string{"ingest", "--workdir", url, "--transactions", tx, "--feedback", fb, "--buckets", "8"}, quiet...)...)
	if ok, _ := bucket.Exists(context.Background(), "shops/demo/warehouse/transactions/_manifest.json"); !ok {
		t.Fatal("no warehouse in the store after the ingest shards and their assembly")
	}
	for i := range 4 {
		machine("shard" + strconv.Itoa(i))
		mustRun(t, append([]string{"train", "--workdir", url, "--cutoff", day, "--shard", strconv.Itoa(i) + "/4"}, quiet...)...)
	}
	machine("trainer")
	mustRun(t, append([]string{"train", "--workdir", url, "--cutoff", day}, quiet...)...)
	for i := range 4 {
		machine("shard" + strconv.Itoa(i)) // a fresh copy: only this shard's part of the store is fetched
		copyDir := os.Getenv("CHURN_CACHE_DIR")
		mustRun(t, append([]string{"score", "--workdir", url, "--as-of", day, "--shard", strconv.Itoa(i) + "/4"}, quiet...)...)
		if i == 1 {
			assertShardCopy(t, copyDir, 1, 4)
		}
	}
	machine("merger")
	mustRun(t, append([]string{"merge", "--workdir", url, "--as-of", day}, quiet...)...)
	// The merge's copy holds no warehouse rows nor snapshot parts: the
	// shards brought the customers' rows and KPI books.
	filepath.WalkDir(os.Getenv("CHURN_CACHE_DIR"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.Contains(p, "bucket=") || strings.Contains(p, "/part-")) {
			t.Errorf("the merge fetched %s", p)
		}
		return err
	})
	machine("publisher") // the guards read the warehouse and snapshots
	out := mustRun(t, append([]string{"merge", "--workdir", url, "--as-of", day, "--publish"}, quiet...)...)
	if !strings.Contains(out, "published: lists/LATEST = "+day) {
		t.Errorf("merge --publish printed:\n%s", out)
	}

	machine("analyst")
	if out := mustRun(t, "models", "list", "--workdir", url); !strings.Contains(out, "*") {
		t.Errorf("churn models list on the store shows no champion:\n%s", out)
	}
	machine("checker") // resolving settings fetches nothing
	mustRun(t, "config", "check", "--workdir", url)
	if _, err := os.Stat(os.Getenv("CHURN_CACHE_DIR")); !os.IsNotExist(err) {
		t.Errorf("churn config check made a local copy (%v)", err)
	}

	// churn run on the store, unsharded, in one go.
	machine("single")
	single := strings.Replace(url, "shops/demo", "shops/single", 1)
	mustRun(t, append([]string{"run", "--workdir", single, "--as-of", day, "--transactions", tx, "--feedback", fb, "--buckets", "8"}, quiet...)...)
	machine("operator") // status reads run records and lists/LATEST: no data files
	if out := mustRun(t, "status", "--workdir", single); !strings.Contains(out, day) {
		t.Errorf("churn status on the store:\n%s", out)
	}
	filepath.WalkDir(os.Getenv("CHURN_CACHE_DIR"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			t.Errorf("churn status fetched %s", p)
		}
		return err
	})

	ctx := context.Background()
	listDir := datasets.ListDir(local, day)
	names, err := os.ReadDir(listDir)
	if err != nil || len(names) < 8 {
		t.Fatalf("local list: %v, %d files", err, len(names))
	}
	rels := []string{"lists/LATEST", "warehouse/transactions/_manifest.json", "warehouse/feedback/_manifest.json", "warehouse/_ingests.json"}
	for _, e := range names {
		rels = append(rels, "lists/as-of="+day+"/"+e.Name())
	}
	for _, rel := range rels {
		want, err := os.ReadFile(filepath.Join(local, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := bucket.ReadAll(ctx, "shops/demo/"+rel)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("s3 %s differs from the local run's (%v)", rel, err)
		}
		if got, err := bucket.ReadAll(ctx, "shops/single/"+rel); err != nil || !bytes.Equal(got, want) {
			t.Errorf("s3 %s of churn run on the store differs from the local run's (%v)", rel, err)
		}
	}
	// Nothing hidden (locks, temporary folders, the copies' records) reached the store.
	it := bucket.List(nil)
	for {
		o, err := it.Next(ctx)
		if err != nil {
			break
		}
		if strings.Contains("/"+o.Key, "/.") {
			t.Errorf("hidden object %s in the store", o.Key)
		}
		if strings.Contains(o.Key, "/shards/") { // each unsharded step removes the shards it joined
			t.Errorf("shard object %s left in the store", o.Key)
		}
	}
}

// assertShardCopy checks that the local copy of shard i of n holds only
// its buckets' warehouse files and snapshot parts.
func assertShardCopy(t *testing.T, root string, i, n int) {
	t.Helper()
	seen := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var b int
		name := filepath.ToSlash(p)
		switch {
		case strings.Contains(name, "/warehouse/transactions/bucket="):
			b, _ = strconv.Atoi(name[strings.Index(name, "bucket=")+7:][:3])
		case strings.Contains(name, "/features/cutoff=") && strings.Contains(name, "/part-"):
			b, _ = strconv.Atoi(name[strings.LastIndex(name, "/part-")+6:][:3])
		default:
			return nil
		}
		seen++
		if b%n != i {
			t.Errorf("the copy of shard %d/%d holds %s", i, n, p)
		}
		return nil
	})
	if seen == 0 {
		t.Errorf("the copy of shard %d/%d holds no bucket", i, n)
	}
}
