package datasets

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// SnapshotWriter writes a feature snapshot part by part while the parts are
// built, for snapshots whose last columns (the RFM scores: quintiles over
// every customer) are known only once every part exists. Begin writes a
// part's leading columns and parks its file: no descriptor stays open and
// nothing stays buffered but the last column's pages, so a build holds the
// few values the trailing columns need instead of whole parts. Finish
// appends the trailing columns and closes the file; Commit syncs every
// part and publishes the folder with its manifest (WriteSnapshot's layout,
// byte for byte); Abort removes it. Distinct parts may be begun and
// finished concurrently.
type SnapshotWriter struct {
	pf     *PendingFolder
	schema *arrow.Schema
	parts  []*partWriter
	rows   atomic.Int64
	ended  bool
}

type partWriter struct {
	sink *parkedFile
	fw   *pqarrow.FileWriter
	lead int // columns written by Begin
}

// NewSnapshotWriter starts a snapshot of n parts with the given schema in a
// temporary sibling of dir.
func NewSnapshotWriter(dir string, n int, schema *arrow.Schema) (*SnapshotWriter, error) {
	pf, err := BeginFolder(dir)
	if err != nil {
		return nil, err
	}
	return &SnapshotWriter{pf: pf, schema: schema, parts: make([]*partWriter, n)}, nil
}

// Begin writes rec as the leading columns of part i (its fields must be the
// schema's first ones) and parks the file until Finish. rec is not released.
func (w *SnapshotWriter) Begin(i int, rec arrow.RecordBatch) (err error) {
	if i < 0 || i >= len(w.parts) || w.parts[i] != nil {
		return fmt.Errorf("datasets: snapshot part %d begun twice or out of range", i)
	}
	lead := rec.Schema().Fields()
	if len(lead) > w.schema.NumFields() || !arrow.NewSchema(w.schema.Fields()[:len(lead)], nil).Equal(arrow.NewSchema(lead, nil)) {
		return fmt.Errorf("datasets: snapshot part %d: columns %s do not start the schema %s", i, rec.Schema(), w.schema)
	}
	path := filepath.Join(w.pf.Dir(), fmt.Sprintf("part-%03d.parquet", i))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, FileMode)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	sink := &parkedFile{path: path, f: f, sum: newFileSum()}
	defer func() {
		if err != nil {
			sink.park()
		}
	}()
	// pqarrow closes a sink that is an io.Closer; hide Close: the file is
	// parked between Begin and Finish, and closed by park.
	fw, err := pqarrow.NewFileWriter(w.schema, struct{ io.Writer }{sink}, snapshotProps(w.schema), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fmt.Errorf("datasets: parquet writer %s: %w", path, err)
	}
	// One row group written column by column: what FileWriter.Write does
	// with a record of the whole schema, so the bytes are the same.
	if err := fw.NewRowGroupChecked(); err != nil {
		return fmt.Errorf("datasets: write %s: %w", path, err)
	}
	for _, col := range rec.Columns() {
		if err := fw.WriteColumnData(col); err != nil {
			return fmt.Errorf("datasets: write %s: %w", path, err)
		}
	}
	if err := sink.park(); err != nil {
		return err
	}
	w.parts[i] = &partWriter{sink: sink, fw: fw, lead: len(lead)}
	w.rows.Add(rec.NumRows())
	return nil
}

// Finish writes the trailing columns of part i (as many as the schema has
// after Begin's, each as long as the part) and closes its file.
func (w *SnapshotWriter) Finish(i int, cols []arrow.Array) (err error) {
	pw := w.parts[i]
	if pw == nil || pw.fw == nil {
		return fmt.Errorf("datasets: snapshot part %d finished before it began or twice", i)
	}
	path := pw.sink.path
	defer func() {
		pw.fw = nil
		if cerr := pw.sink.park(); err == nil {
			err = cerr
		}
		if err == nil {
			pw.sink.sum.remember(path)
		}
	}()
	if pw.lead+len(cols) != w.schema.NumFields() {
		return fmt.Errorf("datasets: snapshot part %d: %d trailing columns, the schema wants %d", i, len(cols), w.schema.NumFields()-pw.lead)
	}
	for k, col := range cols {
		if f := w.schema.Field(pw.lead + k); !arrow.TypeEqual(f.Type, col.DataType()) {
			return fmt.Errorf("datasets: snapshot part %d: column %s is %s, want %s", i, f.Name, col.DataType(), f.Type)
		}
		if err := pw.fw.WriteColumnData(col); err != nil {
			return fmt.Errorf("datasets: write %s: %w", path, err)
		}
	}
	if err := pw.fw.Close(); err != nil {
		return fmt.Errorf("datasets: write %s: %w", path, err)
	}
	return nil // synced by Commit
}

// Commit publishes the snapshot once every part is finished: the manifest
// (kind features, the rows of every part, meta) is written last.
func (w *SnapshotWriter) Commit(meta map[string]string) error {
	for i, pw := range w.parts {
		if pw == nil || pw.fw != nil {
			w.Abort()
			return fmt.Errorf("datasets: snapshot part %d is not finished", i)
		}
	}
	// Every part synced at once: a sync mostly waits for the disk, and the
	// file system serves many together (a part at a time in Finish, the
	// syncs of a 1M-customer snapshot's 16 parts took 0.1–0.3 s of a
	// run's time with both cores idle).
	err := parallel(len(w.parts), syncWorkers, func(i int) error { return syncFile(w.parts[i].sink.path) })
	if err != nil {
		w.Abort()
		return err
	}
	w.ended = true
	return w.pf.Commit(Manifest{Kind: "features", Rows: w.rows.Load(), Meta: meta})
}

// syncWorkers is how many files are synced at once.
const syncWorkers = 16

// syncFile writes a closed file's data to the disk.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("datasets: sync %s: %w", path, err)
	}
	if err := syncClose(f, nil); err != nil {
		return fmt.Errorf("datasets: sync %s: %w", path, err)
	}
	return nil
}

// Abort drops the snapshot: open files are closed and the temporary folder
// removed. It does nothing after Commit or a first Abort.
func (w *SnapshotWriter) Abort() {
	if w.ended {
		return
	}
	w.ended = true
	for _, pw := range w.parts {
		if pw != nil {
			pw.sink.park()
		}
	}
	w.pf.Abort()
}

// parkedFile is a file written by appends that can be closed between
// bursts of writes (park) and reopened by the next write.
type parkedFile struct {
	path string
	f    *os.File
	sum  *fileSum // of every byte written, for the commit
}

func (p *parkedFile) Write(b []byte) (int, error) {
	if p.f == nil {
		f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return 0, fmt.Errorf("datasets: reopen %s: %w", p.path, err)
		}
		p.f = f
	}
	n, err := p.f.Write(b)
	p.sum.Write(b[:n])
	return n, err
}

func (p *parkedFile) park() error {
	if p.f == nil {
		return nil
	}
	err := p.f.Close()
	p.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("datasets: close %s: %w", p.path, err)
	}
	return nil
}
