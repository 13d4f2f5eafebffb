package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
)

// activeRemote is the object-storage work directory of the running
// command, pushed when it succeeds (pushWorkdir).
var activeRemote *datasets.Remote

// openWorkdir returns the local folder a command works in: workdir
// itself (a path or file:// URL), or for an object-storage URL
// (s3://bucket/prefix?…, gs://…) a local copy, brought up to date with the
// store before the command and pushed to it after (only if it succeeds).
// The copy lives in $CHURN_CACHE_DIR (default: the user's cache folder)
// under a name of the URL and the shard, so shards on one machine do not
// share one. keep, when set, says which files the command reads (default:
// all, or a shard's).
func openWorkdir(ctx context.Context, workdir string, shard pipeline.Shard, keep func(key string) bool) (string, error) {
	if !datasets.IsRemote(workdir) {
		return datasets.LocalWorkdir(workdir), nil
	}
	root := os.Getenv("CHURN_CACHE_DIR")
	if root == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		root = filepath.Join(dir, "churn")
	}
	h := sha256.Sum256([]byte(workdir + "\x00" + shard.String()))
	r, err := datasets.OpenRemote(ctx, workdir, filepath.Join(root, hex.EncodeToString(h[:8])))
	if err != nil {
		return "", err
	}
	if keep == nil {
		keep = pipeline.ShardKeep(shard, r.Local)
	}
	broken, err := r.Pull(ctx, keep)
	if err != nil {
		r.Close()
		return "", fmt.Errorf("%w (work directory %s)", err, workdir)
	}
	for _, dir := range broken {
		fmt.Fprintf(os.Stderr, "churn: warning: %s in the store does not match its manifest (being rewritten, or a push died); treated as absent\n", dir)
	}
	activeRemote = r
	return r.Local, nil
}

// pushWorkdir publishes what the command wrote to the object-storage work
// directory, if it has one.
func pushWorkdir(ctx context.Context) error {
	r := activeRemote
	if r == nil {
		return nil
	}
	activeRemote = nil
	defer r.Close()
	return r.Push(ctx)
}
