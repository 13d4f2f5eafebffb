package datasets

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// TableWriter collects the new rows of the customers or feedback table as
// they are read, in a spill file per bucket, so an export of any size waits
// on disk, not in memory. Its commit merges each bucket's stored and new
// rows a bucket at a time: memory holds a bucket per core, never the table
// (ten million customers with their feedback held about 4.5 GB before).
// Add is for one goroutine; Close removes the spill files.
type TableWriter[T any] struct {
	tb      table[T]
	workdir string
	n       int
	dir     string
	spills  []*spillFile
	row     []byte // Add's scratch
	built   bool
}

func newTableWriter[T any](tb table[T], workdir string, n int) (*TableWriter[T], error) {
	if n <= 0 {
		n = DefaultBuckets
	}
	if err := os.MkdirAll(workdir, DirMode); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	dir, err := os.MkdirTemp(workdir, ".ingest.tmp-") // CleanStale removes it should the process die
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	w := &TableWriter[T]{tb: tb, workdir: workdir, n: n, dir: dir}
	w.spills = w.newSpills("new")
	return w, nil
}

// commitRows adds rows to a new writer of tb and commits them (CommitCustomers,
// CommitFeedback: rows already in memory).
func commitRows[T any](ctx context.Context, tb table[T], workdir string, buckets int, rows []T, replace bool) (TableInfo, error) {
	w, err := newTableWriter(tb, workdir, buckets)
	if err != nil {
		return TableInfo{}, err
	}
	defer w.Close()
	for _, r := range rows {
		if err := w.Add(r); err != nil {
			return TableInfo{}, err
		}
	}
	return w.Commit(ctx, replace)
}

// newSpills returns a spill file for each bucket, named after what it holds
// (created on first write).
func (w *TableWriter[T]) newSpills(what string) []*spillFile {
	size := max(4<<10, min(64<<10, (8<<20)/w.n)) // at most 8 MB of buffers
	s := make([]*spillFile, w.n)
	for b := range s {
		s[b] = &spillFile{path: filepath.Join(w.dir, fmt.Sprintf("%s-%04d.spill", what, b)), size: size}
	}
	return s
}

// Add spills r into its bucket. r's strings may change after Add returns.
func (w *TableWriter[T]) Add(r T) error {
	if w.built {
		return errors.New("datasets: a row added to a table writer after its commit")
	}
	w.row = w.tb.encode(w.row[:0], &r)
	return w.spills[Bucket(w.tb.id(r), w.n)].append(w.row)
}

// Close removes the spill files.
func (w *TableWriter[T]) Close() error {
	for _, s := range w.spills {
		s.finish() // the files are discarded: a flush error does not matter
	}
	if err := os.RemoveAll(w.dir); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	return nil
}

// Commit merges the stored rows (none when replace) with the added ones and
// commits the table's folder atomically.
func (w *TableWriter[T]) Commit(ctx context.Context, replace bool) (TableInfo, error) {
	var info TableInfo
	err := CommitFolder(filepath.Join(w.workdir, w.tb.dir), func(tmp string) (Manifest, error) {
		var err error
		info, err = w.build(ctx, replace, nil, tmp)
		return tableManifest(w.tb.kind, w.n, info), err
	})
	return info, err
}

// CommitShard is Commit for the buckets keep accepts, written into
// dir/bucket=NNN/ (a folder the caller commits); the result is the shard's
// share, for AssembleTable.
func (w *TableWriter[T]) CommitShard(ctx context.Context, replace bool, keep func(int) bool, dir string) (TableInfo, error) {
	return w.build(ctx, replace, keep, dir)
}

// build merges the stored and added rows of the buckets keep accepts (nil:
// all) and writes them into out/bucket=NNN/part-00000.parquet. A bucket's
// rows are its stored ones, in order, then its added ones, in order: the
// order the merge's stable sort keeps for equal keys.
func (w *TableWriter[T]) build(ctx context.Context, replace bool, keep func(int) bool, out string) (TableInfo, error) {
	if w.built {
		return TableInfo{}, errors.New("datasets: a table writer committed twice")
	}
	w.built = true
	for _, s := range w.spills {
		if err := s.finish(); err != nil {
			return TableInfo{}, err
		}
	}
	keeps := func(b int) bool { return keep == nil || keep(b) }
	root := filepath.Join(w.workdir, w.tb.dir)
	sameLayout := false
	var moved []*spillFile // stored rows of another bucket count, in this writer's buckets
	if !replace {
		if m, err := ReadManifest(root); err == nil {
			old, _ := strconv.Atoi(m.Meta["buckets"])
			if sameLayout = old == w.n; !sameLayout {
				if moved, err = w.rebucket(root, old, keeps); err != nil {
					return TableInfo{}, err
				}
			}
		} else if _, statErr := os.Stat(filepath.Join(root, ManifestName)); !os.IsNotExist(statErr) {
			return TableInfo{}, err
		}
	}
	infos := make([]TableInfo, w.n)
	err := eachBucket(w.n, func(b int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !keeps(b) {
			return nil
		}
		var rs []T
		var err error
		if sameLayout {
			if rs, err = readParquetRows[T](filepath.Join(BucketDir(root, b), "part-00000.parquet")); err != nil {
				return err
			}
		}
		if moved != nil {
			if rs, err = w.readSpill(moved[b], rs); err != nil {
				return err
			}
		}
		if rs, err = w.readSpill(w.spills[b], rs); err != nil {
			return err
		}
		tb := w.tb
		slices.SortStableFunc(rs, tb.compare)
		kept := rs[:0]
		for _, r := range rs {
			if n := len(kept); n > 0 && tb.same(kept[n-1], r) {
				kept[n-1] = tb.merge(kept[n-1], r)
				continue
			}
			if len(kept) == 0 || tb.id(kept[len(kept)-1]) != tb.id(r) {
				infos[b].Customers++
			}
			kept = append(kept, r)
		}
		infos[b].Dropped = int64(len(rs) - len(kept))
		infos[b].Rows = int64(len(kept))
		d := BucketDir(out, b)
		if err := os.MkdirAll(d, DirMode); err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		// Every column zstd (the default level), through the file's own encoder.
		return writeParquetRows(filepath.Join(d, "part-00000.parquet"), kept, parquet.Compression(newFileZstd(zstd.DefaultLevel)))
	})
	var info TableInfo
	for _, bi := range infos {
		info.Rows, info.Customers, info.Dropped = info.Rows+bi.Rows, info.Customers+bi.Customers, info.Dropped+bi.Dropped
	}
	return info, err
}

// rebucket spills the stored rows of a table of old buckets into this
// writer's buckets (those keep accepts), a stored bucket at a time, in
// stored order.
func (w *TableWriter[T]) rebucket(root string, old int, keep func(int) bool) ([]*spillFile, error) {
	moved := w.newSpills("stored")
	for b := range old {
		stored, err := readParquetRows[T](filepath.Join(BucketDir(root, b), "part-00000.parquet"))
		if err != nil {
			return nil, err
		}
		for i := range stored {
			if nb := Bucket(w.tb.id(stored[i]), w.n); keep(nb) {
				w.row = w.tb.encode(w.row[:0], &stored[i])
				if err := moved[nb].append(w.row); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, s := range moved {
		if err := s.finish(); err != nil {
			return nil, err
		}
	}
	return moved, nil
}

// readSpill appends the rows of a finished spill file to rs. Their strings
// are views of the file's bytes, which are never written again.
func (w *TableWriter[T]) readSpill(s *spillFile, rs []T) ([]T, error) {
	p, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return rs, nil // a bucket without rows
	}
	if err != nil {
		return nil, fmt.Errorf("datasets: spill: %w", err)
	}
	var r T
	for len(p) > 0 {
		if p, err = w.tb.decode(p, &r); err != nil {
			return nil, fmt.Errorf("%w: %s", err, filepath.Base(s.path))
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// encodeCustomer appends c's spill form to dst: the signup time as a
// varint, then its five strings, each as a length and bytes.
func encodeCustomer(dst []byte, c *Customer) []byte {
	dst = binary.AppendVarint(dst, c.SignupTS)
	for _, s := range [...]string{c.CustomerID, c.Email, c.Phone, c.Country, c.Attributes} {
		dst = appendSpillString(dst, s)
	}
	return dst
}

// decodeCustomer decodes the customer at the start of p into c and returns
// the rest; c's strings are views of p.
func decodeCustomer(p []byte, c *Customer) ([]byte, error) {
	ts, n := binary.Varint(p)
	if n <= 0 {
		return nil, errSpillCorrupt
	}
	p = p[n:]
	var strs [5]string
	for i := range strs {
		var err error
		if strs[i], p, err = nextSpillString(p); err != nil {
			return nil, err
		}
	}
	*c = Customer{CustomerID: strs[0], SignupTS: ts, Email: strs[1], Phone: strs[2], Country: strs[3], Attributes: strs[4]}
	return p, nil
}

// encodeFeedback appends f's spill form to dst: the time as a varint, the
// score's eight bytes (NaN as it is), then the customer id and the kind.
func encodeFeedback(dst []byte, f *Feedback) []byte {
	dst = binary.AppendVarint(dst, f.TS)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(f.Score))
	dst = appendSpillString(dst, f.CustomerID)
	return appendSpillString(dst, f.Kind)
}

// decodeFeedback decodes the feedback row at the start of p into f, as
// decodeCustomer.
func decodeFeedback(p []byte, f *Feedback) ([]byte, error) {
	ts, n := binary.Varint(p)
	if n <= 0 || len(p)-n < 8 {
		return nil, errSpillCorrupt
	}
	score := math.Float64frombits(binary.LittleEndian.Uint64(p[n:]))
	p = p[n+8:]
	id, p, err := nextSpillString(p)
	if err != nil {
		return nil, err
	}
	kind, p, err := nextSpillString(p)
	if err != nil {
		return nil, err
	}
	*f = Feedback{CustomerID: id, TS: ts, Kind: kind, Score: score}
	return p, nil
}
