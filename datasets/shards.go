package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// ShardsDir holds what the shards of a sharded stage wrote for the step
// that merges them: <workdir>/shards/<stage>/<day>/shard-III-of-NNN.
const ShardsDir = "shards"

// ScoredFile is a score shard's one file of scored customers.
const ScoredFile = "scored.parquet"

// ShardDir returns the folder where shard i of n of stage writes for day:
// <workdir>/shards/<stage>/<day>/shard-III-of-NNN (day is e.g. as-of=2025-12-31).
func ShardDir(workdir, stage, day string, i, n int) string {
	return filepath.Join(ShardsRoot(workdir, stage, day), fmt.Sprintf("shard-%03d-of-%03d", i, n))
}

// ShardsRoot returns <workdir>/shards/<stage>/<day>, the parent of every
// shard folder of that stage and day.
func ShardsRoot(workdir, stage, day string) string {
	return filepath.Join(workdir, ShardsDir, stage, day)
}

var shardName = regexp.MustCompile(`^shard-(\d{3,})-of-(\d{3,})$`)

// ShardCounts returns the shard counts n of the committed shard folders
// under root (ShardsRoot), ascending; none when root does not exist.
func ShardCounts(root string) ([]int, error) {
	ents, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	var ns []int
	for _, e := range ents {
		m := shardName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() || !Committed(filepath.Join(root, e.Name())) {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if !slices.Contains(ns, n) {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return ns, nil
}

// ScoredCustomer is one customer as a shard of `churn score --shard`
// scored it: the list row before the steps that look at the whole list
// (ranks, permilles, suggested actions, campaign sizing), and what those
// steps read beside it.
type ScoredCustomer struct {
	Part               int32    `parquet:"part"` // snapshot part = warehouse bucket
	Row                ScoreRow `parquet:"row"`
	FirstOrderDay      int32    `parquet:"first_order_day"` // days since 1970-01-01
	Subscription       string   `parquet:"subscription,dict"`
	DaysSinceComplaint float64  `parquet:"days_since_complaint"` // NaN when unknown, as the three below
	DiscountShare      float64  `parquet:"discount_share"`
	OverdueRatio       float64  `parquet:"overdue_ratio"`
	ReasonFeatures     []string `parquet:"reason_features,list"` // the top reasons' feature names, strongest first
}

// WriteScored writes a shard's scored customers to path (ScoredFile).
func WriteScored(path string, rows []ScoredCustomer) error {
	return writeParquetRows(path, rows)
}

// EachScored calls fn with the rows of a file written by WriteScored, in
// order, a few thousand at a time (the slice is reused, and so may be the
// rows' own slices; their strings are their own), and stops at fn's first
// error: a shard's customers read without holding them all.
func EachScored(path string, fn func([]ScoredCustomer) error) error {
	return eachParquetRows(path, fn)
}

// ReadScored reads a file written by WriteScored.
func ReadScored(path string) ([]ScoredCustomer, error) {
	return readParquetRows[ScoredCustomer](path)
}
