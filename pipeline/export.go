package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// ExportFormats are the formats Export writes: the full list, and the
// contact imports of four CRMs.
var ExportFormats = []string{"csv", "hubspot", "salesforce", "braze", "klaviyo"}

// ExportOptions says what Export writes where.
type ExportOptions struct {
	Format string
	// Out is the file to write; a list that needs several files (the CRM's
	// row or size limit) becomes Out's name with -001, -002, … before the
	// extension. Empty: W.
	Out string
	W   io.Writer
	// Excel starts every file with a UTF-8 byte-order mark, so Excel
	// opens it as UTF-8.
	Excel bool
	// ContactsOnly keeps the rows the campaign sizing chose (contact = true).
	ContactsOnly bool
	// MaxRows and MaxBytes replace the dialect's limits per file (tests).
	MaxRows  int
	MaxBytes int64
}

// Export writes the published list of asOf in a CRM's import format. It
// reads scores.parquet of a committed list folder, so it only ever sees
// complete lists; contact fields (email, phone) come from the customers
// input. Files appear complete or not at all.
func Export(ctx context.Context, cfg Config, asOf time.Time, opt ExportOptions) (ExportResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return ExportResult{}, err
	}
	if !validFormat(opt.Format) {
		return ExportResult{}, fmt.Errorf("pipeline: export format %q: supported: %v", opt.Format, ExportFormats)
	}
	dir := datasets.ListDir(cfg.Workdir, dateString(asOf))
	if !datasets.Committed(dir) {
		return ExportResult{}, fmt.Errorf("pipeline: no published list for %s in %s (run churn score --as-of %s)", dateString(asOf), cfg.Workdir, dateString(asOf))
	}
	contacts := map[string]contact{}
	if opt.Format != "csv" {
		var err error
		if contacts, err = readContacts(cfg.Workdir); err != nil {
			return ExportResult{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return ExportResult{}, err
	}
	// The list is read and written a few thousand rows at a time, straight
	// to the files: memory holds neither the list nor the export.
	scores := filepath.Join(dir, datasets.ScoresParquet)
	each := func(fn func([]datasets.ScoreRow) error) error {
		return datasets.EachScores(scores, func(rows []datasets.ScoreRow) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if opt.ContactsOnly {
				rows = slices.DeleteFunc(rows, func(r datasets.ScoreRow) bool { return !r.Contact })
			}
			return fn(rows)
		})
	}
	limits := [2]int64{int64(opt.MaxRows), opt.MaxBytes}
	if opt.Out == "" && opt.Format == "csv" { // one part, no contact fields to miss: straight out
		sp := &streamPart{bw: bufio.NewWriterSize(opt.W, 1<<20)}
		return crmExport(opt.Format, each, contacts, opt.Excel, limits, sp)
	}
	if opt.Out == "" { // a stream: its one part is kept until it is known to be the only one
		var m memParts
		res, err := crmExport(opt.Format, each, contacts, opt.Excel, limits, &m)
		if err != nil {
			return res, err
		}
		if err := emptyExport(res, opt); err != nil {
			return res, err
		}
		if len(m.parts) > 1 {
			return res, fmt.Errorf("pipeline: the %s export needs %d files (its per-file limit): give --out FILE", opt.Format, len(m.parts))
		}
		if _, err := opt.W.Write(m.parts[0].Bytes()); err != nil {
			return res, fmt.Errorf("pipeline: export: %w", err)
		}
		return res, nil
	}
	fp := &fileParts{dir: filepath.Dir(opt.Out)}
	res, err := crmExport(opt.Format, each, contacts, opt.Excel, limits, fp)
	if err == nil {
		err = emptyExport(res, opt)
	}
	if err != nil {
		fp.remove()
		return res, err
	}
	res.Files, err = fp.place(opt.Out)
	return res, err
}

// emptyExport is the error of an export whose list had rows but none the
// CRM can import for want of contact fields (every row skipped).
func emptyExport(res ExportResult, opt ExportOptions) error {
	if res.Rows == 0 && res.Skipped > 0 {
		return fmt.Errorf("pipeline: no customer of the list has %s, which %s needs: ingest a customers export with contact fields (--customers)", res.Needs, opt.Format)
	}
	return nil
}

func validFormat(f string) bool {
	for _, v := range ExportFormats {
		if v == f {
			return true
		}
	}
	return false
}

// readContacts maps customer ids to the customers input's email and phone
// (the customers who have either).
func readContacts(workdir string) (map[string]contact, error) {
	out := map[string]contact{}
	err := datasets.EachContact(workdir, func(id, email, phone string) {
		if email != "" || phone != "" {
			out[strings.Clone(id)] = contact{email: strings.Clone(email), phone: strings.Clone(phone)}
		}
	})
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil // no customers input: no contact fields
	}
	return out, err
}

// partName is the name of part i of n: out itself when n is 1, else
// out's name with -001, -002, … before the extension.
func partName(out string, i, n int) string {
	if n == 1 {
		return out
	}
	ext := filepath.Ext(out)
	return fmt.Sprintf("%s-%03d%s", strings.TrimSuffix(out, ext), i+1, ext)
}

// streamPart writes an export of one part straight to a stream.
type streamPart struct {
	bw      *bufio.Writer
	started bool
}

func (p *streamPart) next() (io.Writer, error) {
	if p.started {
		return nil, errors.New("pipeline: export: a second part for a stream")
	}
	p.started = true
	return p.bw, nil
}

func (p *streamPart) close() error {
	if err := p.bw.Flush(); err != nil {
		return fmt.Errorf("pipeline: export: %w", err)
	}
	return nil
}

// fileParts writes an export's parts to temporary files in dir as they
// come (each synced when the next begins or at close); place then renames
// them all into place, and remove deletes them: on failure nothing is left.
type fileParts struct {
	dir  string
	tmps []string
	f    *os.File
	bw   *bufio.Writer
}

func (p *fileParts) next() (io.Writer, error) {
	if err := p.end(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(p.dir, ".export-*")
	if err != nil {
		return nil, fmt.Errorf("pipeline: export: %w", err)
	}
	p.f, p.bw, p.tmps = f, bufio.NewWriterSize(f, 1<<20), append(p.tmps, f.Name())
	return p.bw, nil
}

// end flushes, syncs and closes the current part.
func (p *fileParts) end() error {
	if p.f == nil {
		return nil
	}
	err := p.bw.Flush()
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	p.f, p.bw = nil, nil
	if err != nil {
		return fmt.Errorf("pipeline: export: %w", err)
	}
	return nil
}

func (p *fileParts) close() error { return p.end() }

// remove deletes the parts written so far.
func (p *fileParts) remove() {
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	for _, t := range p.tmps {
		os.Remove(t)
	}
}

// place renames the parts to out (one part) or out's name with -001, -002,
// … and returns their names.
func (p *fileParts) place(out string) ([]string, error) {
	names := make([]string, len(p.tmps))
	for i := range p.tmps {
		names[i] = partName(out, i, len(p.tmps))
	}
	for i, t := range p.tmps {
		if err := os.Rename(t, names[i]); err != nil {
			for _, t := range p.tmps[i:] {
				os.Remove(t)
			}
			return names[:i], fmt.Errorf("pipeline: export %s: %w", names[i], err)
		}
	}
	return names, nil
}
