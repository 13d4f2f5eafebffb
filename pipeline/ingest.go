package pipeline

import (
	"bytes"
	"cmp"
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
	// comma-separated (datasets.ExpandInputs).
	Transactions string
	// Customers and Feedback are the optional customers and feedback
	// inputs, given the same way. At least one of the three is required.
	Customers, Feedback string
	Map                 datasets.ColumnMap     // transactions header mapping; unmapped keys are recognised
	CustomersMap        datasets.ColumnMap     // customers header mapping
	FeedbackMap         datasets.ColumnMap     // feedback header mapping
	Source              datasets.SourceOptions // format, encoding, delimiter; zero detects
	Values              datasets.ValueOptions  // time zone, date order, decimal separator
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
	// Preset names a shop platform's standard export (datasets.Presets).
	Preset string
	// GuestKey "email" gives guest checkouts their email as customer id.
	GuestKey string
	// CancelPrefix marks cancellation invoices by order id prefix ("C").
	CancelPrefix string
	// NonProduct classifies non-product lines; nil: datasets.DefaultNonProduct.
	NonProduct []datasets.NonProductRule
}

// IngestResult summarises an ingest.
type IngestResult struct {
	ID          string               // ingest-<hash of the inputs' hashes>
	Files       []datasets.FileStats // the files read (not the skipped ones)
	Skipped     []string             // files ingested before (same content hash)
	Read        int64                // data rows read
	Loaded      int64                // rows that passed validation
	Duplicates  int64                // rows dropped as identical to one already there (transactions, feedback)
	Quarantined int64                // bad rows set aside
	Quarantine  string               // the quarantine file, when rows were set aside
	NoOp        bool                 // every input was ingested before; nothing written
	Rows        int64                // transaction rows in the warehouse afterwards
	Customers   int64                // customers with transactions afterwards
	// CustomerRows and FeedbackRows are the rows of the customers and
	// feedback tables after this ingest (-1 when it did not touch them).
	CustomerRows, FeedbackRows int64
	FirstDay                   string            // first and last day in the warehouse
	LastDay                    string            //
	Warnings                   []string          // e.g. a file with quarantined rows
	BadSample                  []datasets.BadRow // the first quarantined rows, for summaries
	Lines                      LineCounts        // how the transaction lines were read
}

// ReadOptions returns how to read the files of table t (datasets.Transactions,
// Customers or FeedbackTable): format, values, mapping, and for
// transactions the bound, guest, cancellation and non-product rules with
// the preset applied. NotAfter is left for the caller.
func (in IngestInput) ReadOptions(t datasets.Table) (datasets.ReadOptions, error) {
	opt := datasets.ReadOptions{SourceOptions: in.Source, Values: in.Values}
	switch t.Name {
	case datasets.Customers.Name:
		opt.Map = in.CustomersMap
	case datasets.FeedbackTable.Name:
		opt.Map = in.FeedbackMap
	default:
		opt.Map, opt.MaxAmountCents, opt.GuestKey, opt.CancelPrefix, opt.NonProduct = in.Map, in.MaxAmountCents, in.GuestKey, in.CancelPrefix, in.NonProduct
		if in.Preset != "" {
			if err := datasets.ApplyPreset(&opt, in.Preset); err != nil {
				return opt, err
			}
		}
	}
	return opt, nil
}

// LineCounts says how an export's lines were read, beyond good and bad.
type LineCounts struct {
	Guests           int64            `json:"guests"`                      // rows without a customer id, set aside
	ZeroPrice        int64            `json:"zero_price"`                  // product lines with amount 0, kept
	NonProduct       map[string]int64 `json:"non_product,omitempty"`       // shipping, fee, voucher, adjustment lines: kept, not purchases
	CancelledLines   int64            `json:"cancelled_lines"`             // lines of cancelled or refunded orders, netted out by a counterpart
	RefundLines      int64            `json:"refund_lines"`                // refund lines from an order-level refunded amount
	CancelLines      int64            `json:"cancellation_lines"`          // lines of cancellation invoices (prefix rule)
	CancelsLinked    int64            `json:"cancellations_linked"`        // … linked to their original order
	CancelsNotLinked int64            `json:"cancellations_without_order"` // … whose order is not in the data, kept as refunds
}

func (c *LineCounts) add(st datasets.FileStats) {
	c.Guests += st.Guests
	c.ZeroPrice += st.ZeroPrice
	c.CancelledLines += st.CancelledLines
	c.RefundLines += st.RefundLines
	c.CancelLines += st.CancelLines
	datasets.AddKindCounts(&c.NonProduct, st.NonProduct)
}

// ingestRecord is one entry of the warehouse's ingest log (_ingests.json).
type ingestRecord struct {
	ID          string      `json:"id"`
	Files       []fileAudit `json:"files"`
	Duplicates  int64       `json:"duplicates"`
	Quarantined int64       `json:"quarantined"`
	Replace     bool        `json:"replace,omitempty"`
	Preset      string      `json:"preset,omitempty"`
	Lines       LineCounts  `json:"lines"`
}

type fileAudit struct {
	Table       string            `json:"table"`
	Path        string            `json:"path"`
	Bytes       int64             `json:"bytes"`
	SHA256      string            `json:"sha256"`
	Format      string            `json:"format"`
	Columns     map[string]string `json:"columns"`
	Read        int64             `json:"read"`
	Loaded      int64             `json:"loaded"`
	Quarantined int64             `json:"quarantined"`
}

// IngestLog is the ingest log, written after every table of an ingest is
// committed: a crash before it leaves the inputs to be ingested again,
// which converges (merges are idempotent).
const IngestLog = "warehouse/_ingests.json"

// QuarantineDir is where quarantined rows go, one CSV per ingest.
const QuarantineDir = "warehouse/_quarantine"

// QuarantineColumns is the header of a quarantine file.
var QuarantineColumns = []string{"file", "line", "column", "field", "reason", "row"}

// maxQuarantineKept bounds the bad rows held in memory; more are counted.
const maxQuarantineKept = 1 << 20

// Ingest reads the exports — transactions, and the optional customers and
// feedback — validates every row, and merges the good ones into the
// warehouse atomically, table by table: transaction rows identical to one
// already there are dropped (overlapping nightly exports), a customer's
// newest row replaces the stored one, identical feedback rows are kept
// once, and a file whose content was ingested before is skipped. Bad rows
// go to a quarantine file naming file, line, column and reason. If more
// than MaxBadFraction of any file is bad, or a file cannot be read or
// mapped, Ingest returns a *datasets.DataError and writes nothing. An
// exclusive lock on the work directory keeps two ingests apart.
func Ingest(ctx context.Context, cfg Config, in IngestInput) (IngestResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return IngestResult{}, err
	}
	if in.Transactions == "" && in.Customers == "" && in.Feedback == "" {
		return IngestResult{}, fmt.Errorf("pipeline: ingest: --transactions (or --customers, --feedback) is required")
	}
	if in.MaxBadFraction < 0 || in.MaxBadFraction > 1 {
		return IngestResult{}, fmt.Errorf("pipeline: max bad fraction must be in [0, 1], got %v", in.MaxBadFraction)
	}
	inputs := []struct {
		table datasets.Table
		spec  string
		files []string
	}{{table: datasets.Transactions, spec: in.Transactions}, {table: datasets.Customers, spec: in.Customers}, {table: datasets.FeedbackTable, spec: in.Feedback}}
	for i := range inputs {
		if inputs[i].spec == "" {
			continue
		}
		files, err := datasets.ExpandInputs(inputs[i].spec)
		if err != nil {
			return IngestResult{}, err
		}
		inputs[i].files = files
	}
	if !cfg.holdsLock && !cfg.Shard.Sharded() { // shards of one ingest run at once; each writes its own folder
		unlock, err := datasets.LockWorkdir(cfg.Workdir)
		if err != nil {
			return IngestResult{}, err
		}
		defer unlock()
		if _, err := datasets.CleanStale(cfg.Workdir); err != nil {
			return IngestResult{}, err
		}
	}
	start := time.Now()
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	res := IngestResult{CustomerRows: -1, FeedbackRows: -1}
	var ingestLog []ingestRecord
	if !in.Replace {
		var err error
		if ingestLog, err = readIngestLog(cfg.Workdir); err != nil {
			return res, err
		}
	}
	seen := map[string]bool{}
	for _, rec := range ingestLog {
		for _, f := range rec.Files {
			seen[f.Table+"/"+f.SHA256] = true
		}
	}
	fresh := map[string][]string{}
	fileSums := map[string]string{} // path → SHA-256, so reads need not hash again
	var sums []string
	// A file is hashed first, on the workers, unless its read can hash it:
	// see readHashes.
	var paths []string
	for _, input := range inputs {
		paths = append(paths, input.files...)
	}
	later := readHashes(cfg, paths, ingestLog)
	var first []string
	for _, p := range paths {
		if !later[p] {
			first = append(first, p)
		}
	}
	fingerprints, err := datasets.FileFingerprints(first, cfg.Workers)
	if err != nil {
		return res, err
	}
	k := 0
	laterAt := map[string]int{}
	for _, input := range inputs {
		for _, path := range input.files {
			if later[path] {
				fresh[input.table.Name] = append(fresh[input.table.Name], path)
				laterAt[path] = len(sums) // filled in once its read has hashed it
				sums = append(sums, "")
				continue
			}
			sum := fingerprints[k]
			k++
			key := input.table.Name + "/" + sum
			if seen[key] {
				res.Skipped = append(res.Skipped, path)
				continue
			}
			seen[key] = true
			fileSums[path] = sum
			fresh[input.table.Name] = append(fresh[input.table.Name], path)
			sums = append(sums, key)
		}
	}
	// ingestID names the ingest once every fresh file's hash is known.
	ingestID := func() string {
		h := sha256.Sum256([]byte(strings.Join(sums, ",") + fmt.Sprintf("|replace=%v", in.Replace)))
		return "ingest-" + hex.EncodeToString(h[:6])
	}
	if len(later) == 0 {
		res.ID = ingestID()
	}
	if len(sums) == 0 {
		res.NoOp = true
		res.fromWarehouse(cfg.Workdir)
		cfg.logStage("ingest", 0, start, "no_op", true, "skipped", len(res.Skipped))
		return res, nil
	}
	var key string
	if len(later) == 0 { // else no shards (readHashes)
		var done bool
		if key, done, err = ingestFromShards(cfg, in, &res, fileSums, ingestLog, start); done || err != nil {
			return res, err
		}
	}

	var bad []datasets.BadRow
	keepBad := func(b datasets.BadRow) error {
		if len(bad) < maxQuarantineKept {
			bad = append(bad, b)
		}
		return nil
	}
	rec := ingestRecord{ID: res.ID, Replace: in.Replace, Preset: in.Preset}
	base := datasets.ReadOptions{SourceOptions: in.Source, Values: in.Values, NotAfter: now, Workers: cfg.Workers}
	txOpt, err := in.ReadOptions(datasets.Transactions)
	if err != nil {
		return res, err
	}
	txOpt.NotAfter, txOpt.Workers = now, cfg.Workers
	// check accounts for one file read and stops above the bad-row bound.
	check := func(table, path string, st datasets.FileStats, err error) error {
		if err != nil {
			return err
		}
		if st.Rows == 0 {
			return &datasets.DataError{File: path, Line: 2, Msg: "no " + table + " rows after the header"}
		}
		if frac := float64(st.Bad) / float64(st.Rows); frac > in.MaxBadFraction {
			return tooManyBad(path, st, frac, in.MaxBadFraction, bad)
		}
		if st.Bad > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %d of %d rows quarantined", path, st.Bad, st.Rows))
		}
		if i, ok := laterAt[path]; ok {
			sums[i] = table + "/" + st.SHA256
		}
		res.Files = append(res.Files, st)
		res.Read += st.Rows
		res.Loaded += st.Loaded
		res.Quarantined += st.Bad
		rec.Files = append(rec.Files, fileAudit{Table: table, Path: path, Bytes: st.Bytes, SHA256: st.SHA256, Format: st.Format,
			Columns: st.Columns, Read: st.Rows, Loaded: st.Loaded, Quarantined: st.Bad})
		cfg.progress("ingest", len(res.Files), len(sums))
		return nil
	}

	var w *datasets.WarehouseWriter
	if paths := fresh[datasets.Transactions.Name]; len(paths) > 0 {
		if w, err = datasets.NewWarehouseWriter(cfg.Workdir, writerBuckets(cfg, in.Replace)); err != nil {
			return res, err
		}
		defer w.Close()
		if cfg.Shard.Sharded() {
			w.Only(cfg.Shard.Owns)
		}
		if !in.Replace {
			if err := w.AddWarehouse(cfg.Workdir); err != nil {
				return res, err
			}
		}
		for _, path := range paths {
			txOpt.SHA256 = fileSums[path]
			st, err := w.ReadFile(ctx, path, txOpt, keepBad)
			if err := check(datasets.Transactions.Name, path, st, err); err != nil {
				return res, err
			}
			res.Lines.add(st)
		}
		w.LinkCancellations(txOpt.CancelPrefix) // at commit, a bucket at a time
	}
	// Every table gets the warehouse's bucket count, decided now that the
	// transactions are read.
	buckets := ingestBuckets(cfg, w)
	// The customers and feedback rows wait in spill files until the commit
	// (a shard keeps only its buckets' rows).
	var customers *datasets.TableWriter[datasets.Customer]
	if paths := fresh[datasets.Customers.Name]; len(paths) > 0 {
		if customers, err = datasets.NewCustomersWriter(cfg.Workdir, buckets); err != nil {
			return res, err
		}
		defer customers.Close()
		addCustomer := ownedOnly(cfg, buckets, customers.Add, func(c datasets.Customer) string { return c.CustomerID })
		for _, path := range paths {
			opt := base
			opt.Map, opt.NotAfter, opt.SHA256 = in.CustomersMap, time.Time{}, fileSums[path]
			st, err := datasets.ReadCustomerFile(ctx, path, opt, addCustomer, keepBad)
			if err := check(datasets.Customers.Name, path, st, err); err != nil {
				return res, err
			}
		}
	}
	var feedback *datasets.TableWriter[datasets.Feedback]
	if paths := fresh[datasets.FeedbackTable.Name]; len(paths) > 0 {
		if feedback, err = datasets.NewFeedbackWriter(cfg.Workdir, buckets); err != nil {
			return res, err
		}
		defer feedback.Close()
		addFeedback := ownedOnly(cfg, buckets, feedback.Add, func(f datasets.Feedback) string { return f.CustomerID })
		for _, path := range paths {
			opt := base
			opt.Map, opt.SHA256 = in.FeedbackMap, fileSums[path]
			st, err := datasets.ReadFeedbackFile(ctx, path, opt, addFeedback, keepBad)
			if err := check(datasets.FeedbackTable.Name, path, st, err); err != nil {
				return res, err
			}
		}
	}

	// A stored table of another bucket count follows the warehouse's (a
	// table of another layout is read whole for every bucket).
	if customers == nil && !in.Replace && otherLayout(cfg.Workdir, datasets.CustomersDir, buckets) {
		if customers, err = datasets.NewCustomersWriter(cfg.Workdir, buckets); err != nil {
			return res, err
		}
		defer customers.Close()
	}
	if feedback == nil && !in.Replace && otherLayout(cfg.Workdir, datasets.FeedbackDir, buckets) {
		if feedback, err = datasets.NewFeedbackWriter(cfg.Workdir, buckets); err != nil {
			return res, err
		}
		defer feedback.Close()
	}

	if len(later) > 0 {
		res.ID = ingestID()
		rec.ID = res.ID
	}
	res.BadSample = bad[:min(len(bad), 5)]
	rec.Quarantined, rec.Lines = res.Quarantined, res.Lines
	if cfg.Shard.Sharded() {
		err := commitIngestShard(ctx, cfg, in, key, buckets, w, customers, feedback, bad, &res, rec)
		if err == nil {
			cfg.logStage("ingest", res.Loaded, start, "shard", cfg.Shard.String(), "quarantined", res.Quarantined)
		}
		return res, err
	}
	if res.Quarantined > 0 {
		res.Quarantine = filepath.Join(cfg.Workdir, QuarantineDir, res.ID+".csv")
		if err := datasets.WriteFileAtomic(res.Quarantine, quarantineCSV(bad)); err != nil {
			return res, err
		}
	}
	err = commitIngest(ctx, cfg, in.Replace, w, customers, feedback, &res, &rec)
	if err == nil {
		err = appendIngestLog(cfg.Workdir, ingestLog, rec)
	}
	if err != nil {
		if res.Quarantine != "" {
			os.Remove(res.Quarantine)
		}
		return res, err
	}
	res.fromWarehouse(cfg.Workdir)
	cfg.logStage("ingest", res.Loaded, start, "customers", res.Customers, "first_day", res.FirstDay, "last_day", res.LastDay,
		"duplicates", res.Duplicates, "quarantined", res.Quarantined, "skipped", len(res.Skipped))
	return res, nil
}

// commitIngest commits the tables an ingest touched: customers and
// feedback first, transactions last. A nil writer is a table the ingest
// brought no file of.
func commitIngest(ctx context.Context, cfg Config, replace bool, w *datasets.WarehouseWriter, customers *datasets.TableWriter[datasets.Customer],
	feedback *datasets.TableWriter[datasets.Feedback], res *IngestResult, rec *ingestRecord) error {
	if customers != nil {
		info, err := customers.Commit(ctx, replace)
		if err != nil {
			return err
		}
		res.CustomerRows = info.Rows
	}
	if feedback != nil {
		info, err := feedback.Commit(ctx, replace)
		if err != nil {
			return err
		}
		res.FeedbackRows = info.Rows
		res.Duplicates += info.Dropped
	}
	if w != nil {
		if _, _, err := w.Commit(ctx, cfg.Workdir, ingestMeta(res)); err != nil {
			return err
		}
	}
	rec.Duplicates, rec.Lines = res.Duplicates, res.Lines
	return nil
}

// ingestMeta returns the transactions manifest's ingest keys. The manifest
// is written after every bucket, so it can tell what the buckets dropped
// and linked; they are added to res.
func ingestMeta(res *IngestResult) func(datasets.WarehouseCommit) map[string]string {
	return func(wc datasets.WarehouseCommit) map[string]string {
		res.Duplicates += wc.Dropped
		res.Lines.CancelsLinked, res.Lines.CancelsNotLinked = wc.CancelsLinked, wc.CancelsNotLinked
		lines, _ := json.Marshal(res.Lines)
		return map[string]string{"last_ingest": res.ID, "last_ingest_lines": string(lines),
			"last_ingest_counts": fmt.Sprintf(`{"read":%d,"loaded":%d,"duplicates":%d,"quarantined":%d}`, res.Read, res.Loaded, res.Duplicates, res.Quarantined)}
	}
}

// appendIngestLog writes the ingest log with rec added (last: an ingest is
// recorded once everything it wrote is committed).
func appendIngestLog(workdir string, log []ingestRecord, rec ingestRecord) error {
	b, err := json.MarshalIndent(append(log, rec), "", "  ")
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return datasets.WriteFileAtomic(filepath.Join(workdir, IngestLog), append(b, '\n'))
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

// fromWarehouse sets the totals of the warehouse stored under workdir: its
// rows, customers and first and last days (none when there is none).
func (res *IngestResult) fromWarehouse(workdir string) {
	if info, err := datasets.OpenWarehouse(workdir); err == nil {
		res.Rows, res.Customers = info.Rows, info.Customers
		res.FirstDay, res.LastDay = dateString(dayOf(info.MinTS)), dateString(dayOf(info.MaxTS))
	}
}

// ingestFromShards returns the ingest's key (its files hashed) and whether
// res is already the answer: this shard's work is stored, or, unsharded,
// the stored shards of the same ingest made the warehouse.
func ingestFromShards(cfg Config, in IngestInput, res *IngestResult, fileSums map[string]string, ingestLog []ingestRecord, start time.Time) (string, bool, error) {
	key := ingestKey(cfg, in, res.ID)
	if cfg.Shard.Sharded() {
		if !ingestShardDone(cfg, res.ID, key) {
			return key, false, nil
		}
		res.NoOp = true
		cfg.logStage("ingest", 0, start, "shard", cfg.Shard.String(), "no_op", true)
		return key, true, nil
	}
	paths := map[string]string{}
	for p, sum := range fileSums {
		paths[sum] = p
	}
	done, err := finishIngestFromShards(cfg, key, paths, res, ingestLog)
	if done {
		res.fromWarehouse(cfg.Workdir)
		cfg.logStage("ingest", res.Loaded, start, "from_shards", true, "customers", res.Customers, "quarantined", res.Quarantined)
	}
	return key, done || err != nil, err
}

// readHashes returns the input files whose reads may hash them instead of
// a pass of their own before: those that cannot have been ingested before
// and that no other input can repeat, because no file of the ingest log and
// no other input has their size. Their first bytes are then parsed while
// the hash is still to come, and the other core is not left idle through a
// large export's hashing. The rest (and every file of a sharded ingest, or
// when shards of an ingest are stored: their key needs the hashes first)
// are hashed up front as before.
func readHashes(cfg Config, paths []string, log []ingestRecord) map[string]bool {
	if cfg.Shard.Sharded() {
		return nil
	}
	if ents, err := os.ReadDir(datasets.ShardsRoot(cfg.Workdir, ingestStage, "")); err == nil && len(ents) > 0 {
		return nil
	}
	seen := map[int64]bool{}
	for _, rec := range log {
		for _, f := range rec.Files {
			if f.Bytes == 0 && f.SHA256 != emptySHA256 { // a size not recorded: it could be any
				return nil
			}
			seen[f.Bytes] = true
		}
	}
	sizes := make([]int64, len(paths))
	count := map[int64]int{}
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			sizes[i] = -1 // hashed first, which reports the error
			continue
		}
		sizes[i] = fi.Size()
		count[sizes[i]]++
	}
	later := map[string]bool{}
	for i, p := range paths {
		if sizes[i] >= 0 && count[sizes[i]] == 1 && !seen[sizes[i]] {
			later[p] = true
		}
	}
	return later
}

// emptySHA256 is the SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// readIngestLog reads the warehouse's ingest log; none yet is an empty log.
func readIngestLog(workdir string) ([]ingestRecord, error) {
	b, err := os.ReadFile(filepath.Join(workdir, IngestLog))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var log []ingestRecord
	if err := json.Unmarshal(b, &log); err != nil {
		return nil, fmt.Errorf("pipeline: ingest log %s: %w", IngestLog, err)
	}
	return log, nil
}

// ownedOnly is add, or under --shard, add for the rows of the shard's
// buckets only (by the customer id of each, of n buckets).
func ownedOnly[T any](cfg Config, n int, add func(T) error, customer func(T) string) func(T) error {
	if !cfg.Shard.Sharded() {
		return add
	}
	return func(v T) error {
		if !cfg.Shard.Owns(datasets.Bucket(customer(v), n)) {
			return nil
		}
		return add(v)
	}
}

// writerBuckets is the bucket count to make the warehouse writer with:
// cfg.Buckets, or 0 (decided by the writer once every row is read:
// datasets.AutoBuckets) when it is automatic. A shard keeps the rows of
// the buckets b with b mod N = i while they are read, before the count is
// known; that works for the automatic count when N divides every count it
// can decide (N a power of two no larger than the stored count or, with
// none, than DefaultBuckets). Otherwise a sharded ingest keeps the stored
// count, or makes DefaultBuckets.
func writerBuckets(cfg Config, replace bool) int {
	switch {
	case cfg.Buckets > 0:
		return cfg.Buckets
	case !cfg.Shard.Sharded():
		return 0
	}
	stored := 0
	if !replace {
		if info, err := datasets.OpenWarehouse(cfg.Workdir); err == nil {
			stored = info.Buckets
		}
	}
	least := cmp.Or(stored, datasets.DefaultBuckets)
	if n := cfg.Shard.N; n&(n-1) == 0 && least%n == 0 && datasets.MaxAutoBuckets%least == 0 {
		return 0
	}
	return least
}

// ingestBuckets is the bucket count of every table an ingest commits: the
// warehouse writer's (decided once its rows are read); without one the
// stored warehouse's, else cfg.Buckets, else datasets.AutoBuckets of no
// rows.
func ingestBuckets(cfg Config, w *datasets.WarehouseWriter) int {
	if w != nil {
		return w.Buckets()
	}
	if info, err := datasets.OpenWarehouse(cfg.Workdir); err == nil {
		return info.Buckets
	}
	if cfg.Buckets > 0 {
		return cfg.Buckets
	}
	return datasets.AutoBuckets(0, 0)
}

// otherLayout reports whether the table under workdir/dir is stored with a
// bucket count other than n.
func otherLayout(workdir, dir string, n int) bool {
	m, err := datasets.ReadManifest(filepath.Join(workdir, dir))
	if err != nil {
		return false
	}
	stored, _ := strconv.Atoi(m.Meta["buckets"])
	return stored != n
}
