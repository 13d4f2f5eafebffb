package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// IngestInput names the raw exports of one ingest and how to read them.
type IngestInput struct {
	// Transactions is one or more files, folders or glob patterns,
	// comma-separated (datasets.ExpandInputs); required.
	Transactions string
	Map          datasets.ColumnMap     // header mapping; unmapped keys are recognised
	Source       datasets.SourceOptions // format, encoding, delimiter; zero detects
	Values       datasets.ValueOptions  // time zone, date order, decimal separator
	// Now rejects rows after it as future; zero: the wall clock.
	Now time.Time
	// MaxBadFraction is the share of a file's rows that may be quarantined
	// before the ingest stops; 0 allows none (the CLI default is 0.01).
	MaxBadFraction float64
	// MaxAmountCents quarantines rows whose |amount| exceeds it; 0: no bound.
	MaxAmountCents int64
	// Replace rebuilds the warehouse from these inputs alone instead of
	// merging them into it.
	Replace bool
}

// IngestResult summarises an ingest.
type IngestResult struct {
	ID          string               // ingest-<hash of the inputs' hashes>
	Files       []datasets.FileStats // the files read (not the skipped ones)
	Skipped     []string             // files ingested before (same content hash)
	Read        int64                // data rows read
	Loaded      int64                // rows that passed validation
	Duplicates  int64                // rows dropped as identical to one already there
	Quarantined int64                // bad rows set aside
	Quarantine  string               // the quarantine file, when rows were set aside
	NoOp        bool                 // every input was ingested before; nothing written
	Rows        int64                // rows in the warehouse afterwards
	Customers   int64                // customers in the warehouse afterwards
	FirstDay    string               // first and last day in the warehouse
	LastDay     string               //
	Warnings    []string             // e.g. a file with quarantined rows
	BadSample   []datasets.BadRow    // the first quarantined rows, for summaries
}

// ingestRecord is one entry of the warehouse's ingest log (_ingests.json).
type ingestRecord struct {
	ID          string      `json:"id"`
	Files       []fileAudit `json:"files"`
	Duplicates  int64       `json:"duplicates"`
	Quarantined int64       `json:"quarantined"`
	Replace     bool        `json:"replace,omitempty"`
}

type fileAudit struct {
	Path        string            `json:"path"`
	Bytes       int64             `json:"bytes"`
	SHA256      string            `json:"sha256"`
	Format      string            `json:"format"`
	Columns     map[string]string `json:"columns"`
	Read        int64             `json:"read"`
	Loaded      int64             `json:"loaded"`
	Quarantined int64             `json:"quarantined"`
}

// IngestLogName is the ingest log kept inside the warehouse folder.
const IngestLogName = "_ingests.json"

// QuarantineDir is where quarantined rows go, one CSV per ingest.
const QuarantineDir = "warehouse/_quarantine"

// QuarantineColumns is the header of a quarantine file.
var QuarantineColumns = []string{"file", "line", "column", "field", "reason", "row"}

// maxQuarantineKept bounds the bad rows held in memory; more are counted.
const maxQuarantineKept = 1 << 20

// Ingest reads the transaction exports, validates every row, and merges the
// good ones into the warehouse atomically: rows identical to one already
// there are dropped (overlapping nightly exports), a file whose content was
// ingested before is skipped, and bad rows go to a quarantine file naming
// file, line, column and reason. If more than MaxBadFraction of any file is
// bad, or a file cannot be read or mapped, Ingest returns a
// *datasets.DataError and writes nothing: the warehouse stays as it was.
// An exclusive lock on the work directory keeps two ingests apart.
func Ingest(ctx context.Context, cfg Config, in IngestInput) (IngestResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return IngestResult{}, err
	}
	if in.Transactions == "" {
		return IngestResult{}, fmt.Errorf("pipeline: ingest: --transactions is required")
	}
	if in.MaxBadFraction < 0 || in.MaxBadFraction > 1 {
		return IngestResult{}, fmt.Errorf("pipeline: max bad fraction must be in [0, 1], got %v", in.MaxBadFraction)
	}
	files, err := datasets.ExpandInputs(in.Transactions)
	if err != nil {
		return IngestResult{}, err
	}
	unlock, err := datasets.LockWorkdir(cfg.Workdir)
	if err != nil {
		return IngestResult{}, err
	}
	defer unlock()
	start := time.Now()
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	var res IngestResult
	var ingestLog []ingestRecord
	if !in.Replace {
		if ingestLog, err = readIngestLog(cfg.Workdir); err != nil {
			return res, err
		}
	}
	seen := map[string]string{}
	for _, rec := range ingestLog {
		for _, f := range rec.Files {
			seen[f.SHA256] = rec.ID
		}
	}
	var fresh []string
	var sums []string
	for _, path := range files {
		_, sum, err := datasets.FileFingerprint(path)
		if err != nil {
			return res, err
		}
		if _, dup := seen[sum]; dup {
			res.Skipped = append(res.Skipped, path)
			continue
		}
		seen[sum] = "this ingest"
		fresh = append(fresh, path)
		sums = append(sums, sum)
	}
	h := sha256.Sum256([]byte(strings.Join(sums, ",") + fmt.Sprintf("|replace=%v", in.Replace)))
	res.ID = "ingest-" + hex.EncodeToString(h[:6])
	if len(fresh) == 0 {
		res.NoOp = true
		if info, err := datasets.OpenWarehouse(cfg.Workdir); err == nil {
			res.Rows, res.Customers = info.Rows, info.Customers
			res.FirstDay, res.LastDay = dateString(dayOf(info.MinTS)), dateString(dayOf(info.MaxTS))
		}
		cfg.logStage("ingest", 0, start, "no_op", true, "skipped", len(res.Skipped))
		return res, nil
	}

	w := datasets.NewWarehouseWriter(cfg.Buckets)
	if !in.Replace {
		if err := w.AddWarehouse(cfg.Workdir); err != nil {
			return res, err
		}
	}
	var bad []datasets.BadRow
	opt := datasets.ReadOptions{SourceOptions: in.Source, Map: in.Map, Values: in.Values, NotAfter: now, MaxAmountCents: in.MaxAmountCents}
	rec := ingestRecord{ID: res.ID, Replace: in.Replace}
	for i, path := range fresh {
		st, err := datasets.ReadTransactionFile(ctx, path, opt, func(t datasets.Transaction) error {
			w.Add(t)
			return nil
		}, func(b datasets.BadRow) error {
			if len(bad) < maxQuarantineKept {
				bad = append(bad, b)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		cfg.progress("ingest", i+1, len(fresh))
		if st.Rows == 0 {
			return res, &datasets.DataError{File: path, Line: 2, Msg: "no transaction rows after the header"}
		}
		if frac := float64(st.Bad) / float64(st.Rows); frac > in.MaxBadFraction {
			return res, tooManyBad(path, st, frac, in.MaxBadFraction, bad)
		}
		if st.Bad > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %d of %d rows quarantined", path, st.Bad, st.Rows))
		}
		res.Files = append(res.Files, st)
		res.Read += st.Rows
		res.Loaded += st.Loaded
		res.Quarantined += st.Bad
		rec.Files = append(rec.Files, fileAudit{Path: path, Bytes: st.Bytes, SHA256: st.SHA256, Format: st.Format,
			Columns: st.Columns, Read: st.Rows, Loaded: st.Loaded, Quarantined: st.Bad})
	}
	res.BadSample = bad[:min(len(bad), 5)]
	rec.Quarantined = res.Quarantined
	if res.Quarantined > 0 {
		res.Quarantine = filepath.Join(cfg.Workdir, QuarantineDir, res.ID+".csv")
		if err := datasets.WriteFileAtomic(res.Quarantine, quarantineCSV(bad)); err != nil {
			return res, err
		}
	}
	rec.Duplicates = w.Compact()
	res.Duplicates = rec.Duplicates
	ingestLog = append(ingestLog, rec)
	logJSON, err := json.MarshalIndent(ingestLog, "", "  ")
	if err != nil {
		return res, err
	}
	info, err := w.Commit(ctx, cfg.Workdir, map[string]string{
		"last_ingest": res.ID,
		"ingests":     strconv.Itoa(len(ingestLog)),
	}, map[string][]byte{IngestLogName: append(logJSON, '\n')})
	if err != nil {
		if res.Quarantine != "" {
			os.Remove(res.Quarantine)
		}
		return res, err
	}
	res.Rows, res.Customers = info.Rows, info.Customers
	res.FirstDay, res.LastDay = dateString(dayOf(info.MinTS)), dateString(dayOf(info.MaxTS))
	cfg.logStage("ingest", res.Loaded, start, "customers", res.Customers, "first_day", res.FirstDay, "last_day", res.LastDay,
		"duplicates", res.Duplicates, "quarantined", res.Quarantined, "skipped", len(res.Skipped))
	return res, nil
}

// tooManyBad is the error of a file over the bad-row bound: it names the
// first bad lines so the user can look at them.
func tooManyBad(path string, st datasets.FileStats, frac, bound float64, bad []datasets.BadRow) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d rows are bad (%.1f%%, above max_bad_fraction %.1f%%); nothing was ingested. First bad rows:",
		st.Bad, st.Rows, 100*frac, 100*bound)
	n := 0
	for _, r := range bad {
		if r.File != path || n == 5 {
			continue
		}
		n++
		pos := strconv.Itoa(r.Line)
		if r.Column > 0 {
			pos += ":" + strconv.Itoa(r.Column)
		}
		field := ""
		if r.Field != "" {
			field = fmt.Sprintf(" column %q:", r.Field)
		}
		fmt.Fprintf(&b, "\n  line %s:%s %s", pos, field, r.Reason)
	}
	line, col := 0, 0
	for _, r := range bad {
		if r.File == path {
			line, col = r.Line, r.Column
			break
		}
	}
	return &datasets.DataError{File: path, Line: line, Column: col, Msg: b.String()}
}

func quarantineCSV(bad []datasets.BadRow) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(QuarantineColumns)
	for _, r := range bad {
		w.Write([]string{r.File, strconv.Itoa(r.Line), strconv.Itoa(r.Column), r.Field, r.Reason, r.Raw})
	}
	w.Flush()
	return buf.Bytes()
}

// readIngestLog reads the warehouse's ingest log; none yet is an empty log.
func readIngestLog(workdir string) ([]ingestRecord, error) {
	b, err := os.ReadFile(filepath.Join(workdir, datasets.WarehouseDir, IngestLogName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var log []ingestRecord
	if err := json.Unmarshal(b, &log); err != nil {
		return nil, fmt.Errorf("pipeline: ingest log %s: %w", IngestLogName, err)
	}
	return log, nil
}
