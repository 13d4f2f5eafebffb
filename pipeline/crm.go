package pipeline

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/churn-dev/churn/datasets"
)

// crmDialect describes how one CRM imports a contact list: the identity
// columns (email, phone, customer id; the customer id first for Braze),
// then the scores, under the CRM's column names.
type crmDialect struct {
	header  []string
	idFirst bool   // the customer id leads (Braze's external_id)
	needs   string // what a row must have: "an email", "an email or a phone number", or "" for nothing
	// maxRows (data rows, header excluded) and maxBytes (header included)
	// per file; 0 is no limit.
	maxRows  int
	maxBytes int64
}

// contact is what the customers input knows of a customer.
type contact struct{ email, phone string }

func prob(v float64) string  { return strconv.FormatFloat(v, 'f', 4, 64) }
func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// row returns the cells of one list row, and false when the CRM cannot
// import it (no email, …).
func (d crmDialect) row(r *datasets.ScoreRow, c contact) ([]string, bool) {
	lead := []string{c.email, c.phone, r.CustomerID}
	if d.idFirst {
		lead = []string{r.CustomerID, c.email, c.phone}
	}
	ok := true
	switch d.needs {
	case needsEmail:
		ok = c.email != ""
	case needsEmailOrPhone:
		ok = c.email != "" || c.phone != ""
	}
	return append(lead, prob(r.ChurnProbability), r.RiskTier, money(r.PredictedCLV), money(r.ValueAtRisk), r.Segment, r.LoyaltyTier,
		r.SatisfactionClass, r.Reasons, r.SuggestedAction, r.LastOrderDate, r.ExpectedNextOrderDate, r.ScoredAt, strconv.FormatBool(r.Control)), ok
}

const (
	needsEmail        = "an email"
	needsEmailOrPhone = "an email or a phone number"
)

// crmDialects are the export formats besides csv, after each vendor's
// documented import rules (HubSpot: ≤ 1,048,576 rows and 512 MB per file;
// Salesforce Data Import Wizard: ≤ 50,000 records per file; Braze: user
// attributes with external_id first; Klaviyo: Email or Phone Number first,
// ≤ 50 MB per file).
var crmDialects = map[string]crmDialect{
	"hubspot": {
		header: []string{"Email", "Phone Number", "Customer ID", "Churn Probability", "Churn Risk Tier", "Predicted CLV",
			"Value at Risk", "RFM Segment", "Loyalty Tier", "Satisfaction", "Churn Reasons", "Suggested Action", "Last Order Date",
			"Expected Next Order Date", "Churn Scored At", "Retention Control Group"},
		maxRows: 1_048_575, maxBytes: 512 << 20, needs: needsEmail,
	},
	"salesforce": {
		header: []string{"Email", "Phone", "Customer_ID__c", "Churn_Probability__c", "Churn_Risk_Tier__c", "Predicted_CLV__c",
			"Value_at_Risk__c", "RFM_Segment__c", "Loyalty_Tier__c", "Satisfaction__c", "Churn_Reasons__c", "Suggested_Action__c",
			"Last_Order_Date__c", "Expected_Next_Order_Date__c", "Churn_Scored_At__c", "Retention_Control_Group__c"},
		maxRows: 50_000, needs: needsEmail,
	},
	"braze": {
		header: []string{"external_id", "email", "phone", "churn_probability", "churn_risk_tier", "predicted_clv", "value_at_risk",
			"rfm_segment", "loyalty_tier", "satisfaction", "churn_reasons", "suggested_action", "last_order_date",
			"expected_next_order_date", "churn_scored_at", "retention_control_group"},
		idFirst: true,
	},
	"klaviyo": {
		header: []string{"Email", "Phone Number", "External ID", "Churn Probability", "Churn Risk Tier", "Predicted CLV", "Value at Risk",
			"RFM Segment", "Loyalty Tier", "Satisfaction", "Churn Reasons", "Suggested Action", "Last Order Date",
			"Expected Next Order Date", "Churn Scored At", "Retention Control Group"},
		maxBytes: 50 << 20, needs: needsEmailOrPhone,
	},
}

// splitWriter writes CSV records into parts that respect a row and byte
// limit, each part starting with the header (and a BOM for Excel). The
// parts go to a partSink as they are written: memory (memParts) or files
// (fileParts), so an export of any size is never held whole.
type splitWriter struct {
	header   []string
	bom      bool
	maxRows  int
	maxBytes int64
	sink     partSink
	cur      io.Writer // the part being written; nil before the first
	size     int64     // its bytes so far
	rows     int       // data rows in the current part
	line     bytes.Buffer
	cw       *csv.Writer
}

// partSink stores an export's parts, one after another.
type partSink interface {
	next() (io.Writer, error) // ends the current part (if any) and starts one
	close() error             // ends the last part
}

func newSplitWriter(header []string, bom bool, maxRows int, maxBytes int64, sink partSink) *splitWriter {
	w := &splitWriter{header: header, bom: bom, maxRows: maxRows, maxBytes: maxBytes, sink: sink}
	w.cw = csv.NewWriter(&w.line)
	return w
}

// encode renders one record as a CSV line.
func (w *splitWriter) encode(rec []string) ([]byte, error) {
	w.line.Reset()
	if err := w.cw.Write(rec); err != nil {
		return nil, err
	}
	w.cw.Flush()
	return w.line.Bytes(), w.cw.Error()
}

func (w *splitWriter) newPart() error {
	cur, err := w.sink.next()
	if err != nil {
		return err
	}
	w.cur, w.size, w.rows = cur, 0, 0
	if w.bom {
		if err := w.put([]byte("\uFEFF")); err != nil {
			return err
		}
	}
	h, err := w.encode(w.header)
	if err != nil {
		return err
	}
	return w.put(h)
}

// put writes p to the current part.
func (w *splitWriter) put(p []byte) error {
	if _, err := w.cur.Write(p); err != nil {
		return fmt.Errorf("pipeline: export: %w", err)
	}
	w.size += int64(len(p))
	return nil
}

// Write adds one record, starting a new part when the current one is full.
func (w *splitWriter) Write(rec []string) error {
	if w.cur == nil {
		if err := w.newPart(); err != nil {
			return err
		}
	}
	enc, err := w.encode(rec)
	if err != nil {
		return err
	}
	line := slices.Clone(enc) // encode's buffer is reused for a new part's header
	full := w.maxRows > 0 && w.rows >= w.maxRows || w.maxBytes > 0 && w.size+int64(len(line)) > w.maxBytes
	if full && w.rows > 0 {
		if err := w.newPart(); err != nil {
			return err
		}
	}
	if w.maxBytes > 0 && w.size+int64(len(line)) > w.maxBytes {
		return fmt.Errorf("pipeline: one row of %d bytes does not fit the %d-byte file limit", len(line), w.maxBytes)
	}
	w.rows++
	return w.put(line)
}

// Close ends the last part (the header alone when no row was written).
func (w *splitWriter) Close() error {
	if w.cur == nil {
		if err := w.newPart(); err != nil {
			return err
		}
	}
	return w.sink.close()
}

// memParts keeps the parts in memory.
type memParts struct{ parts []*bytes.Buffer }

func (m *memParts) next() (io.Writer, error) {
	m.parts = append(m.parts, &bytes.Buffer{})
	return m.parts[len(m.parts)-1], nil
}

func (m *memParts) close() error { return nil }

func (m *memParts) bytes() [][]byte {
	out := make([][]byte, len(m.parts))
	for i, p := range m.parts {
		out[i] = p.Bytes()
	}
	return out
}

// crmExport renders the rows each calls its function with, in a dialect,
// into parts stored by sink: how many rows were written and skipped. csv
// is the full list in snake_case, retention_list.csv's bytes.
func crmExport(format string, each func(fn func([]datasets.ScoreRow) error) error, contacts map[string]contact, bom bool, limits [2]int64, sink partSink) (ExportResult, error) {
	var res ExportResult
	if format == "csv" {
		w := newSplitWriter(datasets.ScoreColumns, bom, 0, 0, sink)
		if err := w.newPart(); err != nil {
			return res, err
		}
		err := each(func(rows []datasets.ScoreRow) error {
			res.Rows += len(rows)
			return datasets.WriteScoresCSVRecords(w.cur, rows)
		})
		if err != nil {
			return res, err
		}
		return res, w.Close()
	}
	d, ok := crmDialects[format]
	if !ok {
		return res, fmt.Errorf("pipeline: export format %q: supported: %v", format, ExportFormats)
	}
	maxRows, maxBytes := d.maxRows, d.maxBytes
	if limits[0] > 0 {
		maxRows = int(limits[0])
	}
	if limits[1] > 0 {
		maxBytes = limits[1]
	}
	w := newSplitWriter(d.header, bom, maxRows, maxBytes, sink)
	err := each(func(rows []datasets.ScoreRow) error {
		for i := range rows {
			rec, ok := d.row(&rows[i], contacts[rows[i].CustomerID])
			if !ok {
				res.Skipped++
				continue
			}
			for j := range rec {
				rec[j] = datasets.NeutraliseCell(rec[j])
			}
			if err := w.Write(rec); err != nil {
				return err
			}
			res.Rows++
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Needs = d.needs
	return res, w.Close()
}

// crmParts renders rows in a dialect into parts in memory (crmExport).
func crmParts(format string, rows []datasets.ScoreRow, contacts map[string]contact, bom bool, limits [2]int64) ([][]byte, ExportResult, error) {
	var m memParts
	res, err := crmExport(format, func(fn func([]datasets.ScoreRow) error) error { return fn(rows) }, contacts, bom, limits, &m)
	if err != nil {
		return nil, res, err
	}
	return m.bytes(), res, nil
}

// ExportResult is what an export wrote.
type ExportResult struct {
	Rows    int      // rows written
	Skipped int      // list rows the CRM cannot import (no email, …)
	Needs   string   // what a skipped row lacked
	Files   []string // the files written (empty when writing to a stream)
}
