package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	// The campaign's contacts are picked as the file is read: memory holds
	// them, not the whole list.
	rows, err := datasets.ReadScoresWhere(filepath.Join(dir, datasets.ScoresParquet), func(r *datasets.ScoreRow) bool { return r.Contact || !opt.ContactsOnly })
	if err != nil {
		return ExportResult{}, err
	}
	contacts := map[string]contact{}
	if opt.Format != "csv" {
		if contacts, err = readContacts(cfg.Workdir); err != nil {
			return ExportResult{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return ExportResult{}, err
	}
	parts, res, err := crmParts(opt.Format, rows, contacts, opt.Excel, [2]int64{int64(opt.MaxRows), opt.MaxBytes})
	if err != nil {
		return res, err
	}
	if res.Rows == 0 && len(rows) > 0 {
		return res, fmt.Errorf("pipeline: no customer of the list has %s, which %s needs: ingest a customers export with contact fields (--customers)", res.Needs, opt.Format)
	}
	if opt.Out == "" {
		if len(parts) > 1 {
			return res, fmt.Errorf("pipeline: the %s export needs %d files (its per-file limit): give --out FILE", opt.Format, len(parts))
		}
		if _, err := opt.W.Write(parts[0]); err != nil {
			return res, fmt.Errorf("pipeline: export: %w", err)
		}
		return res, nil
	}
	res.Files, err = writeParts(opt.Out, parts)
	return res, err
}

func validFormat(f string) bool {
	for _, v := range ExportFormats {
		if v == f {
			return true
		}
	}
	return false
}

// readContacts maps customer ids to the customers input's email and phone.
func readContacts(workdir string) (map[string]contact, error) {
	out := map[string]contact{}
	cs, err := datasets.ReadCustomers(workdir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return out, nil // no customers input: no contact fields
		}
		return nil, err
	}
	for _, c := range cs {
		out[c.CustomerID] = contact{email: c.Email, phone: c.Phone}
	}
	return out, nil
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

// writeParts writes every part to a temporary file beside it, syncs, and
// only then renames them all into place; on failure nothing is left.
func writeParts(out string, parts [][]byte) ([]string, error) {
	var tmps, names []string
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for i, p := range parts {
		name := partName(out, i, len(parts))
		f, err := os.CreateTemp(filepath.Dir(name), ".export-*")
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("pipeline: export: %w", err)
		}
		tmps = append(tmps, f.Name())
		_, err = f.Write(p)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("pipeline: export %s: %w", name, err)
		}
		names = append(names, name)
	}
	for i, t := range tmps {
		if err := os.Rename(t, names[i]); err != nil {
			cleanup()
			return names[:i], fmt.Errorf("pipeline: export %s: %w", names[i], err)
		}
	}
	return names, nil
}
