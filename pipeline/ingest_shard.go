package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// ingestStage names the ingest shards' folders: shards/ingest/<ingest-id>/.
const ingestStage = "ingest"

// ingestShardFile is a shard's record of what it read and wrote.
const ingestShardFile = "ingest.json"

// ingestShard is what a shard of `churn ingest --shard i/n` hands the
// unsharded ingest that assembles the warehouse: what it read (the same
// for every shard: each reads every input and keeps its buckets' rows),
// and its buckets' share of each table's manifest.
type ingestShard struct {
	Key       string                   `json:"key"`
	Buckets   int                      `json:"buckets"` // of every table, as the shards decided alike
	Result    IngestResult             `json:"result"`  // as read, before the commit's share
	Record    ingestRecord             `json:"record"`
	Tx        *datasets.WarehouseShard `json:"transactions,omitempty"`
	Customers *datasets.TableInfo      `json:"customers,omitempty"`
	Feedback  *datasets.TableInfo      `json:"feedback,omitempty"`
}

// ingestKey is what a sharded ingest's output depends on besides the
// inputs' content (the ingest id): every reading option, the bucket count
// and the warehouse it merges into. The input paths are not part of it
// (machines may mount the exports differently), nor the clock (Now).
func ingestKey(cfg Config, in IngestInput, id string) string {
	var before []byte
	for _, dir := range []string{datasets.WarehouseDir, datasets.CustomersDir, datasets.FeedbackDir} {
		b, _ := os.ReadFile(filepath.Join(cfg.Workdir, dir, datasets.ManifestName))
		h := sha256.Sum256(b)
		before = append(before, h[:]...)
	}
	loc := "UTC"
	if in.Values.Location != nil {
		loc = in.Values.Location.String()
	}
	in.Transactions, in.Customers, in.Feedback, in.Now, in.Values.Location = "", "", "", time.Time{}, nil
	return inputsKey("ingest", id, hex.EncodeToString(before), cfg.Buckets, loc, in)
}

// commitIngestShard commits a shard's buckets of every table the ingest
// touched, with its record, to shards/ingest/<ingest-id>/shard-III-of-NNN/.
func commitIngestShard(ctx context.Context, cfg Config, in IngestInput, key string, buckets int, w *datasets.WarehouseWriter, customers *datasets.TableWriter[datasets.Customer],
	feedback *datasets.TableWriter[datasets.Feedback], bad []datasets.BadRow, res *IngestResult, rec ingestRecord) error {
	dir := datasets.ShardDir(cfg.Workdir, ingestStage, res.ID, cfg.Shard.I, cfg.Shard.N)
	pf, err := datasets.BeginFolder(dir)
	if err != nil {
		return err
	}
	defer pf.Abort() // a no-op once committed
	sh := ingestShard{Key: key, Buckets: buckets, Result: *res, Record: rec}
	if customers != nil {
		info, err := customers.CommitShard(ctx, in.Replace, cfg.Shard.Owns, filepath.Join(pf.Dir(), "customers"))
		if err != nil {
			return err
		}
		sh.Customers = &info
	}
	if feedback != nil {
		info, err := feedback.CommitShard(ctx, in.Replace, cfg.Shard.Owns, filepath.Join(pf.Dir(), "feedback"))
		if err != nil {
			return err
		}
		sh.Feedback = &info
	}
	if w != nil {
		tx, err := w.CommitShard(ctx, filepath.Join(pf.Dir(), "transactions"))
		if err != nil {
			return err
		}
		sh.Tx = &tx
	}
	if res.Quarantined > 0 {
		if err := os.WriteFile(filepath.Join(pf.Dir(), "quarantine.csv"), quarantineCSV(bad), datasets.FileMode); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	b, err := json.MarshalIndent(sh, "", "  ")
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if err := os.WriteFile(filepath.Join(pf.Dir(), ingestShardFile), b, datasets.FileMode); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return pf.Commit(datasets.Manifest{Kind: "ingest-shard", Rows: res.Loaded, Meta: map[string]string{
		"ingest": res.ID, "shard": cfg.Shard.String(), "key": key}})
}

// ingestShardDone reports whether shard cfg.Shard of the ingest res.ID is
// committed from the same key (a rerun of the shard then does nothing).
func ingestShardDone(cfg Config, id, key string) bool {
	m, err := datasets.ReadManifest(datasets.ShardDir(cfg.Workdir, ingestStage, id, cfg.Shard.I, cfg.Shard.N))
	return err == nil && m.Meta["key"] == key && !cfg.Force
}

// loadIngestShards returns the records of every shard of one count of the
// ingest id made with key, and their folders; none when no count is
// complete.
func loadIngestShards(cfg Config, id, key string) ([]ingestShard, []string, error) {
	ns, err := datasets.ShardCounts(datasets.ShardsRoot(cfg.Workdir, ingestStage, id))
	if err != nil {
		return nil, nil, err
	}
next:
	for _, n := range slices.Backward(ns) {
		shards, dirs := make([]ingestShard, n), make([]string, n)
		for i := range n {
			dirs[i] = datasets.ShardDir(cfg.Workdir, ingestStage, id, i, n)
			m, err := datasets.ReadManifest(dirs[i])
			if err != nil || m.Meta["key"] != key {
				continue next
			}
			b, err := os.ReadFile(filepath.Join(dirs[i], ingestShardFile))
			if err != nil {
				return nil, nil, fmt.Errorf("pipeline: %w", err)
			}
			if err := json.Unmarshal(b, &shards[i]); err != nil {
				return nil, nil, fmt.Errorf("pipeline: ingest shard %s: %w", dirs[i], err)
			}
		}
		return shards, dirs, nil
	}
	return nil, nil, nil
}

// finishIngestFromShards assembles the warehouse from a complete set of
// ingest shards of res.ID made with key — the files and manifests an
// unsharded ingest of the same inputs writes, byte for byte, the ingest log
// and the quarantine — and reports whether it did. paths are this
// process's input files by SHA-256 (the shards' may be mounted elsewhere).
func finishIngestFromShards(cfg Config, key string, paths map[string]string, res *IngestResult, ingestLog []ingestRecord) (bool, error) {
	shards, dirs, err := loadIngestShards(cfg, res.ID, key)
	if err != nil || shards == nil {
		return false, err
	}
	first := shards[0]
	for i, s := range shards[1:] {
		if s.Buckets != first.Buckets {
			return false, fmt.Errorf("pipeline: ingest shards 0 and %d of %s chose %d and %d buckets: rerun them", i+1, res.ID, first.Buckets, s.Buckets)
		}
		r := s.Result
		if r.Read != first.Result.Read || r.Loaded != first.Result.Loaded || r.Quarantined != first.Result.Quarantined {
			return false, fmt.Errorf("pipeline: ingest shards 0 and %d of %s read the inputs differently (%d/%d/%d rows read/loaded/quarantined against %d/%d/%d): rerun them",
				i+1, res.ID, first.Result.Read, first.Result.Loaded, first.Result.Quarantined, r.Read, r.Loaded, r.Quarantined)
		}
	}
	// The shards' view of the paths, as this process names the files.
	rename := map[string]string{}
	for _, f := range first.Record.Files {
		if p, ok := paths[f.SHA256]; ok {
			rename[f.Path] = p
		}
	}
	skipped := res.Skipped
	*res = first.Result
	res.Skipped = skipped
	rec := first.Record
	for i := range rec.Files {
		rec.Files[i].Path = cmp.Or(rename[rec.Files[i].Path], rec.Files[i].Path)
	}
	for i := range res.Files {
		res.Files[i].File = cmp.Or(rename[res.Files[i].File], res.Files[i].File)
	}
	for i, w := range res.Warnings { // "<path>: n of m rows quarantined"
		for from, to := range rename {
			if rest, ok := strings.CutPrefix(w, from+": "); ok {
				res.Warnings[i] = to + ": " + rest
				break
			}
		}
	}
	for i := range res.BadSample {
		res.BadSample[i].File = cmp.Or(rename[res.BadSample[i].File], res.BadSample[i].File)
	}
	parts := func(table string, buckets int) ([]string, error) {
		out := make([]string, buckets)
		n := len(shards)
		for b := range out {
			out[b] = filepath.Join(datasets.BucketDir(filepath.Join(dirs[b%n], table), b), "part-00000.parquet")
			if _, err := os.Stat(out[b]); err != nil {
				return nil, fmt.Errorf("pipeline: ingest shard %s lacks bucket %d of %s: %w", dirs[b%n], b, table, err)
			}
		}
		return out, nil
	}
	if res.Quarantined > 0 {
		q, err := os.ReadFile(filepath.Join(dirs[0], "quarantine.csv"))
		if err != nil {
			return false, fmt.Errorf("pipeline: %w", err)
		}
		if q, err = renameQuarantine(q, rename); err != nil {
			return false, err
		}
		res.Quarantine = filepath.Join(cfg.Workdir, QuarantineDir, res.ID+".csv")
		if err := datasets.WriteFileAtomic(res.Quarantine, q); err != nil {
			return false, err
		}
	}
	fail := func(err error) (bool, error) {
		if res.Quarantine != "" {
			os.Remove(res.Quarantine)
		}
		return false, err
	}
	for _, t := range []struct {
		dir  string
		info func(s ingestShard) *datasets.TableInfo
		rows *int64
	}{{datasets.CustomersDir, func(s ingestShard) *datasets.TableInfo { return s.Customers }, &res.CustomerRows},
		{datasets.FeedbackDir, func(s ingestShard) *datasets.TableInfo { return s.Feedback }, &res.FeedbackRows}} {
		if t.info(first) == nil {
			continue
		}
		var sum datasets.TableInfo
		for _, s := range shards {
			i := t.info(s)
			sum.Rows, sum.Customers, sum.Dropped = sum.Rows+i.Rows, sum.Customers+i.Customers, sum.Dropped+i.Dropped
		}
		p, err := parts(filepath.Base(t.dir), first.Buckets)
		if err != nil {
			return fail(err)
		}
		if err := datasets.AssembleTable(cfg.Workdir, t.dir, p, sum); err != nil {
			return fail(err)
		}
		*t.rows = sum.Rows
		if t.dir == datasets.FeedbackDir {
			res.Duplicates += sum.Dropped
		}
	}
	if first.Tx != nil {
		sum := *first.Tx
		for _, s := range shards[1:] {
			if err := sum.Add(*s.Tx); err != nil {
				return fail(err)
			}
		}
		p, err := parts("transactions", sum.Buckets)
		if err != nil {
			return fail(err)
		}
		if err := datasets.AssembleWarehouse(cfg.Workdir, p, sum, ingestMeta(res)); err != nil {
			return fail(err)
		}
	}
	rec.Duplicates, rec.Lines = res.Duplicates, res.Lines
	if err := appendIngestLog(cfg.Workdir, ingestLog, rec); err != nil {
		return fail(err)
	}
	// The warehouse holds the shards' work now.
	if err := os.RemoveAll(datasets.ShardsRoot(cfg.Workdir, ingestStage, res.ID)); err != nil {
		cfg.Log.Warn("could not remove the ingest shards", "stage", "ingest", "run_id", cfg.RunID, "err", err)
	}
	return true, nil
}

// renameQuarantine rewrites the file column of a quarantine CSV by rename
// (unchanged when there is nothing to rename).
func renameQuarantine(q []byte, rename map[string]string) ([]byte, error) {
	change := false
	for from, to := range rename {
		change = change || from != to
	}
	if !change {
		return q, nil
	}
	recs, err := csv.NewReader(bytes.NewReader(q)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("pipeline: ingest shard quarantine: %w", err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for i, r := range recs {
		if i > 0 && len(r) > 0 {
			r[0] = cmp.Or(rename[r[0]], r[0])
		}
		w.Write(r)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
