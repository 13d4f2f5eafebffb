package main

import (
	"fmt"
	"io"
	"math/bits"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // --timezone works on machines without a zoneinfo database

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
	"github.com/spf13/cobra"
)

// ingestOptions are the flags of ingest and run that say what to read and how.
type ingestOptions struct {
	tx, mapping, format, encoding, delimiter string
	customers, customersMap                  string
	feedback, feedbackMap                    string
	timezone, dateOrder, decimal             string
	preset, guestKey, cancelPrefix           string
	nonProduct                               string
	maxBad, maxAmount                        float64
	buckets                                  int
	replace                                  bool
}

func (o *ingestOptions) flags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.tx, "transactions", "", "transaction exports: files, folders or glob patterns, comma-separated (CSV in any dialect, .gz/.zst, Parquet, CDNOW text)")
	f.StringVar(&o.mapping, "map", "", "column mapping key=header,... for keys "+strings.Join(datasets.MappingKeys, ", ")+"; unmapped keys are recognised from common English and Chinese header names")
	f.StringVar(&o.customers, "customers", "", "optional customers export(s): customer_id, signup_ts, email, phone, country; other columns are kept as attributes")
	f.StringVar(&o.customersMap, "customers-map", "", "customers column mapping key=header,... for keys "+strings.Join(datasets.Customers.Keys, ", "))
	f.StringVar(&o.feedback, "feedback", "", "optional feedback export(s): customer_id, ts, kind ("+strings.Join(datasets.FeedbackKinds, "|")+"), score")
	f.StringVar(&o.feedbackMap, "feedback-map", "", "feedback column mapping key=header,... for keys "+strings.Join(datasets.FeedbackTable.Keys, ", "))
	f.IntVar(&o.buckets, "buckets", 0, fmt.Sprintf("customer buckets in the warehouse (a stage holds a bucket per worker); 0: automatic — %d, doubled while a bucket would hold more than 2^%d (about a million) rows, up to %d; a warehouse keeps its count until its buckets hold twice that. A count unlike the stored one rebuckets every table", datasets.DefaultBuckets, bits.Len(datasets.RowsPerBucket)-1, datasets.MaxAutoBuckets))
	f.StringVar(&o.format, "format", "auto", "input format: auto (Parquet by its magic bytes, else CSV), csv, parquet or cdnow")
	f.StringVar(&o.encoding, "encoding", "auto", "text encoding: "+strings.Join(datasets.Encodings, ", ")+" (auto: BOM, UTF-8, else GB18030, else Windows-1252)")
	f.StringVar(&o.delimiter, "delimiter", "auto", `CSV delimiter: auto, ",", ";", "tab" or "|"`)
	f.StringVar(&o.dateOrder, "date-order", "", "order of dates like 03/04/2024: dmy or mdy (unset: ambiguous dates are bad rows, never guessed)")
	f.StringVar(&o.decimal, "decimal", "auto", `decimal separator of amounts: auto ("," for ;-separated files, else "."), "." or ","`)
	f.Float64Var(&o.maxBad, "max-bad-fraction", 0.01, "share of a file's rows that may be quarantined before the ingest stops with exit code 3")
	f.Float64Var(&o.maxAmount, "max-amount", 1_000_000, "rows whose |amount| exceeds this (currency units) are quarantined; 0: no bound")
	f.BoolVar(&o.replace, "replace", false, "rebuild the warehouse from these inputs alone instead of merging them into it")
	f.StringVar(&o.preset, "preset", "", "a shop platform's standard export: "+strings.Join(datasets.PresetNames(), ", ")+" (column names and rules; see the README)")
	f.StringVar(&o.guestKey, "guest-key", "", "email: rows without a customer id take their normalised email as the id (default: they are guests, counted and set aside)")
	f.StringVar(&o.cancelPrefix, "cancel-prefix", "", `order ids starting with this are cancellation invoices, e.g. "C" (C536379 cancels 536379)`)
	f.StringVar(&o.nonProduct, "non-product", "default", `non-product line rules kind=pattern,... (kinds: `+strings.Join(datasets.NonProductKinds, ", ")+`; pattern: a product code, code prefix*, or description phrase); "default" adds the built-in ones, "none" disables them`)
}

// input validates the flags into a pipeline.IngestInput.
func (o *ingestOptions) input() (pipeline.IngestInput, error) {
	m, err := datasets.ParseColumnMap(o.mapping)
	if err != nil {
		return pipeline.IngestInput{}, usagef("--map: %v", err)
	}
	in := pipeline.IngestInput{Transactions: o.tx, Customers: o.customers, Feedback: o.feedback, Map: m, MaxBadFraction: o.maxBad, Replace: o.replace,
		Preset: o.preset, CancelPrefix: o.cancelPrefix}
	if o.preset != "" {
		if _, ok := datasets.Presets[o.preset]; !ok {
			return in, usagef("--preset %q: want one of %s", o.preset, strings.Join(datasets.PresetNames(), ", "))
		}
	}
	switch o.guestKey {
	case "", "none":
	case datasets.GuestKeyEmail:
		in.GuestKey = o.guestKey
	default:
		return in, usagef("--guest-key %q: want email (or none)", o.guestKey)
	}
	if in.NonProduct, err = datasets.ParseNonProductRules(o.nonProduct); err != nil {
		return in, usagef("--non-product: %v", err)
	}
	if in.NonProduct == nil {
		in.NonProduct = []datasets.NonProductRule{} // "none": no rules, not the defaults
	}
	if in.CustomersMap, err = datasets.Customers.ParseColumnMap(o.customersMap); err != nil {
		return in, usagef("--customers-map: %v", err)
	}
	if in.FeedbackMap, err = datasets.FeedbackTable.ParseColumnMap(o.feedbackMap); err != nil {
		return in, usagef("--feedback-map: %v", err)
	}
	for _, f := range []struct{ name, spec string }{{"transactions", o.tx}, {"customers", o.customers}, {"feedback", o.feedback}} {
		if f.spec != "" {
			if _, err := datasets.ExpandInputs(f.spec); err != nil {
				return in, usagef("--%s: %v", f.name, err)
			}
		}
	}
	switch o.format {
	case "auto", "":
	case datasets.FormatCSV, datasets.FormatParquet, datasets.FormatCDNOW:
		in.Source.Format = o.format
	default:
		return in, usagef("--format %q: want auto, csv, parquet or cdnow", o.format)
	}
	enc := strings.ToLower(o.encoding)
	known := false
	for _, e := range append(datasets.Encodings, "utf8", "gb2312", "latin1", "cp1252", "iso-8859-1") {
		known = known || enc == e
	}
	if !known {
		return in, usagef("--encoding %q: want one of %s", o.encoding, strings.Join(datasets.Encodings, ", "))
	}
	in.Source.Encoding = enc
	switch o.delimiter {
	case "auto", "":
	case ",", ";", "|":
		in.Source.Delimiter = rune(o.delimiter[0])
	case "tab", `\t`, "\t":
		in.Source.Delimiter = '\t'
	default:
		return in, usagef(`--delimiter %q: want auto, ",", ";", "tab" or "|"`, o.delimiter)
	}
	if in.Values.Location, err = time.LoadLocation(o.timezone); err != nil {
		return in, usagef("--timezone %q: %v", o.timezone, err)
	}
	switch o.dateOrder {
	case "", datasets.DateOrderDMY, datasets.DateOrderMDY:
		in.Values.DateOrder = o.dateOrder
	default:
		return in, usagef("--date-order %q: want dmy or mdy", o.dateOrder)
	}
	switch o.decimal {
	case "auto", "":
	case ".", ",":
		in.Values.Decimal = o.decimal[0]
	default:
		return in, usagef(`--decimal %q: want auto, "." or ","`, o.decimal)
	}
	if o.maxBad < 0 || o.maxBad > 1 {
		return in, usagef("--max-bad-fraction %v: want a share in [0, 1]", o.maxBad)
	}
	if o.maxAmount < 0 {
		return in, usagef("--max-amount %v: want ≥ 0", o.maxAmount)
	}
	in.MaxAmountCents = int64(o.maxAmount * 100)
	return in, nil
}

func newIngest() *cobra.Command {
	var o options
	var ing ingestOptions
	var dryRun bool
	c := &cobra.Command{
		Use:   "ingest --workdir W --transactions PATH [--customers PATH] [--feedback PATH] [--map key=column,...] [--dry-run]",
		Short: "Validate transaction exports and merge them into the Parquet warehouse",
		Long: `Reads transaction exports — CSV in any dialect (delimiter , ; tab |, quotes,
CRLF, UTF-8 with or without BOM, GB18030/GBK, UTF-16), gzip or zstd
compressed, Parquet, or the CDNOW text layout; files, folders or globs — maps
their columns to the canonical schema (customer_id, order_id, ts, amount,
quantity, product_id, category, channel), converts amounts to integer cents and
times to UTC, and merges the rows into <workdir>/warehouse atomically.

Nightly exports may overlap: rows identical to one already in the warehouse
are dropped, and a file ingested before (same content) is skipped. Bad rows
(unparsable date or amount, empty customer id, future timestamp, amount beyond
--max-amount) go to <workdir>/warehouse/_quarantine/<ingest-id>.csv with file,
line, column and reason. If more than --max-bad-fraction of a file is bad, or
its header cannot be mapped, nothing is written and the exit code is 3.

The optional --customers (customer_id, signup_ts, email, phone, country, other
columns kept as JSON attributes; the newest row per customer wins) and
--feedback (customer_id, ts, kind = nps|csat|ces|perceived|expected|
complaint|return|ticket|survey, score; scales checked; survey = an invitation) exports go to <workdir>/warehouse/customers and
<workdir>/warehouse/feedback under the same rules.

--dry-run prints the detected format, the column mapping and a sample of parsed
transaction rows per file, and writes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := applyConfig(c); err != nil { // the config file and CHURN_* apply to the ingest flags too
				return err
			}
			if ing.tx == "" && ing.customers == "" && ing.feedback == "" {
				return usagef("--transactions (or --customers, --feedback) is required")
			}
			ing.timezone = o.timezone
			in, err := ing.input()
			if err != nil {
				return err
			}
			if dryRun {
				return dryRunIngest(c, in)
			}
			cfg, err := pipelineConfig(c, &o)
			if err != nil {
				return err
			}
			cfg.Buckets = ing.buckets
			res, err := pipeline.Ingest(c.Context(), cfg, in)
			if err != nil {
				return err
			}
			if cfg.Shard.Sharded() {
				fmt.Fprintf(c.OutOrStdout(), "shard %s of %s: %d rows read, %d loaded (this shard keeps its buckets' rows)\n", cfg.Shard, res.ID, res.Read, res.Loaded)
				fmt.Fprintf(c.OutOrStdout(), "when all %d shards are done, the same churn ingest without --shard assembles the warehouse from them\n", cfg.Shard.N)
				return nil
			}
			printIngest(c.OutOrStdout(), res)
			return nil
		},
	}
	stageFlags(c, &o, false)
	shardFlag(c, &o, "do only shard i of n (i/n, e.g. 0/4): read every input, keep the buckets b with b mod n = i, into <workdir>/shards/ingest/; the same command without --shard then assembles the warehouse from the shards")
	ing.flags(c)
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the mapping and a sample of parsed rows per file; write nothing")
	return c
}

func printIngest(w io.Writer, res pipeline.IngestResult) {
	for _, f := range res.Skipped {
		fmt.Fprintf(w, "skipped %s: ingested before (same content)\n", f)
	}
	if res.NoOp {
		fmt.Fprintf(w, "nothing new to ingest; warehouse has %d rows, %d customers, %s .. %s\n", res.Rows, res.Customers, res.FirstDay, res.LastDay)
		return
	}
	fmt.Fprintf(w, "%s: %d files, %d rows read, %d loaded, %d duplicates dropped, %d quarantined\n",
		res.ID, len(res.Files), res.Read, res.Loaded, res.Duplicates, res.Quarantined)
	l := res.Lines
	if l.Guests > 0 {
		fmt.Fprintf(w, "  guest checkouts set aside (no customer id): %d\n", l.Guests)
	}
	for _, k := range datasets.NonProductKinds {
		if n := l.NonProduct[k]; n > 0 {
			fmt.Fprintf(w, "  %s lines (kept, not purchases): %d\n", k, n)
		}
	}
	if l.CancelledLines > 0 {
		fmt.Fprintf(w, "  lines of cancelled or refunded orders (netted out): %d\n", l.CancelledLines)
	}
	if l.RefundLines > 0 {
		fmt.Fprintf(w, "  partial refunds (order-level refunded amounts): %d\n", l.RefundLines)
	}
	if l.CancelLines > 0 {
		fmt.Fprintf(w, "  cancellation lines: %d (%d linked to their order, %d without their order in the data, kept as refunds)\n", l.CancelLines, l.CancelsLinked, l.CancelsNotLinked)
	}
	if l.ZeroPrice > 0 {
		fmt.Fprintf(w, "  zero-price product lines (kept): %d\n", l.ZeroPrice)
	}
	if res.Quarantine != "" {
		fmt.Fprintf(w, "quarantined rows: %s\n", res.Quarantine)
		for _, b := range res.BadSample {
			fmt.Fprintf(w, "  %s\n", badRowText(b))
		}
	}
	fmt.Fprintf(w, "warehouse: %d rows, %d customers, %s .. %s\n", res.Rows, res.Customers, res.FirstDay, res.LastDay)
	if res.CustomerRows >= 0 {
		fmt.Fprintf(w, "customers table: %d customers\n", res.CustomerRows)
	}
	if res.FeedbackRows >= 0 {
		fmt.Fprintf(w, "feedback table: %d rows\n", res.FeedbackRows)
	}
}

func badRowText(b datasets.BadRow) string {
	return (&datasets.DataError{File: b.File, Line: b.Line, Column: b.Column, Field: b.Field, Msg: b.Reason}).Error()
}

// dryRunIngest shows, per input file, what ingest would read.
func dryRunIngest(c *cobra.Command, in pipeline.IngestInput) error {
	w := c.OutOrStdout()
	for _, input := range []struct {
		table datasets.Table
		spec  string
	}{{datasets.Transactions, in.Transactions}, {datasets.Customers, in.Customers}, {datasets.FeedbackTable, in.Feedback}} {
		if input.spec == "" {
			continue
		}
		files, err := datasets.ExpandInputs(input.spec)
		if err != nil {
			return usageError{err}
		}
		opt, err := in.ReadOptions(input.table)
		if err != nil {
			return usageError{err}
		}
		for _, path := range files {
			st, rows, bad, err := datasets.Preview(c.Context(), input.table, path, opt, 10)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s (%s): %s, decimal separator %q\n", path, input.table.Name, st.Format, st.Decimal)
			fmt.Fprintln(w, "mapping:")
			for _, k := range input.table.Keys {
				src, ok := st.Columns[k]
				if !ok {
					src = "(none)"
				}
				fmt.Fprintf(w, "  %-12s ← %s\n", k, src)
			}
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			for _, r := range rows {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
			tw.Flush()
			for _, b := range bad {
				fmt.Fprintf(w, "bad row: %s\n", badRowText(b))
			}
			if st.Guests > 0 {
				fmt.Fprintf(w, "guest checkouts in these rows (set aside): %d\n", st.Guests)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w, "dry run: nothing was written")
	return nil
}
