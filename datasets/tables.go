package datasets

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Customer is one row of the optional customers input (DESIGN.md,
// "Contracts"): who the customer is, not what they bought.
type Customer struct {
	CustomerID string `parquet:"customer_id,plain"`                    // one row a customer: a dictionary would be the column again
	SignupTS   int64  `parquet:"signup_ts,timestamp(microsecond:utc)"` // 0: unknown
	Email      string `parquet:"email"`
	Phone      string `parquet:"phone"`
	Country    string `parquet:"country,dict"`
	// Attributes holds the file's other columns as a JSON object
	// (header → value, keys sorted), e.g. {"gender":"f","tier":"gold"}.
	Attributes string `parquet:"attributes"`
}

// Feedback is one survey answer or service event of the optional feedback input.
type Feedback struct {
	CustomerID string  `parquet:"customer_id,plain"` // plain as the transactions' (Transaction.CustomerID)
	TS         int64   `parquet:"ts,timestamp(microsecond:utc)"`
	Kind       string  `parquet:"kind,dict"` // one of FeedbackKinds
	Score      float64 `parquet:"score"`     // NaN when the event has none (complaint, return, ticket)
}

// Mapping keys of the customers and feedback tables.
const (
	KeySignupTS = "signup_ts"
	KeyPhone    = "phone"
	KeyCountry  = "country"
	KeyKind     = "kind"
	KeyScore    = "score"
)

// FeedbackKinds are the canonical feedback kinds. The survey answers nps
// (0–10), csat (1–5), ces (1–7), perceived and expected (perceived and
// expected quality, any one scale) need a score; the events complaint,
// return, ticket and survey (an invitation to a survey, for the response
// rate) may carry any score or none. The contract events subscribe (a
// subscription, membership or contract starts or renews) and cancel (it
// is cancelled) give contractual churn: a cancel within the horizon.
var FeedbackKinds = []string{"nps", "csat", "ces", "perceived", "expected", "complaint", "return", "ticket", "survey", "subscribe", "cancel"}

var feedbackRange = map[string][2]float64{"nps": {0, 10}, "csat": {1, 5}, "ces": {1, 7},
	"perceived": {math.Inf(-1), math.Inf(1)}, "expected": {math.Inf(-1), math.Inf(1)}}

// feedbackKindAliases maps what exports write to the canonical kinds.
var feedbackKindAliases = map[string]string{
	"nps": "nps", "net_promoter": "nps", "净推荐值": "nps", "推荐": "nps",
	"csat": "csat", "satisfaction": "csat", "满意度": "csat",
	"ces": "ces", "effort": "ces", "customer_effort": "ces", "费力度": "ces",
	"complaint": "complaint", "complaints": "complaint", "投诉": "complaint",
	"return": "return", "returns": "return", "refund": "return", "退货": "return", "退款": "return",
	"ticket": "ticket", "support_ticket": "ticket", "工单": "ticket", "客服": "ticket",
	"perceived": "perceived", "perceived_quality": "perceived", "perceived_satisfaction": "perceived", "感知质量": "perceived", "感知": "perceived",
	"expected": "expected", "expected_quality": "expected", "expectation": "expected", "期望质量": "expected", "期望": "expected",
	"survey": "survey", "survey_sent": "survey", "survey_invite": "survey", "invitation": "survey", "问卷邀请": "survey", "问卷发送": "survey",
	"subscribe": "subscribe", "subscription": "subscribe", "subscribed": "subscribe", "renew": "subscribe", "renewal": "subscribe", "resubscribe": "subscribe", "reactivate": "subscribe", "signup": "subscribe",
	"订阅": "subscribe", "续订": "subscribe", "续费": "subscribe", "开通": "subscribe", "入会": "subscribe",
	"cancel": "cancel", "cancelled": "cancel", "canceled": "cancel", "cancellation": "cancel", "unsubscribe": "cancel", "churn": "cancel", "terminate": "cancel", "termination": "cancel",
	"取消": "cancel", "取消订阅": "cancel", "退订": "cancel", "解约": "cancel", "注销": "cancel", "退会": "cancel",
}

// Customers is the customers input table.
var Customers = Table{Name: "customers",
	Keys: []string{KeyCustomerID, KeySignupTS, KeyEmail, KeyPhone, KeyCountry},
	Aliases: map[string][]string{
		KeyCustomerID: headerAliases[KeyCustomerID],
		KeySignupTS:   {"signup_ts", "signup_date", "signup", "registered_at", "registration_date", "created_at", "join_date", "member_since", "注册时间", "注册日期", "入会时间"},
		KeyEmail:      {"email", "e_mail", "email_address", "邮箱", "电子邮件"},
		KeyPhone:      {"phone", "phone_number", "mobile", "tel", "电话", "手机", "手机号"},
		KeyCountry:    {"country", "country_code", "国家", "国家/地区"},
	},
	Required: []string{KeyCustomerID}}

// FeedbackTable is the feedback input table.
var FeedbackTable = Table{Name: "feedback",
	Keys: []string{KeyCustomerID, KeyTS, KeyKind, KeyScore},
	Aliases: map[string][]string{
		KeyCustomerID: headerAliases[KeyCustomerID],
		KeyTS:         {"ts", "timestamp", "date", "created_at", "survey_date", "response_date", "时间", "日期", "反馈时间"},
		KeyKind:       {"kind", "type", "survey", "survey_type", "event", "类型", "反馈类型"},
		KeyScore:      {"score", "rating", "value", "评分", "分数"},
	},
	Required: []string{KeyCustomerID, KeyTS, KeyKind}}

// ReadCustomerFile reads a customers file like ReadTransactionFile: any
// format, mapping by header names; an empty id or an unparsable signup
// date is a bad row. Unmapped columns become the row's Attributes.
func ReadCustomerFile(ctx context.Context, path string, opt ReadOptions, good func(Customer) error, bad func(BadRow) error) (FileStats, error) {
	return readInputFile(ctx, path, opt, func(src rowSource) (FileStats, error) {
		header := src.header()
		return readTableFile(ctx, path, src, Customers, opt, func(vals ValueOptions, _ *FileStats, good func(Customer) error) (rowParser, error) {
			mapped := map[string]bool{}
			if idx, err := Customers.ResolveColumns(path, header, opt.Map); err == nil {
				for _, i := range idx {
					if i >= 0 {
						mapped[header[i]] = true
					}
				}
			}
			return func(rec []string, get func(string) string) (string, string, error) {
				c := Customer{CustomerID: get(KeyCustomerID), Email: strings.ToLower(get(KeyEmail)), Phone: get(KeyPhone), Country: strings.ToUpper(get(KeyCountry))}
				if c.CustomerID == "" {
					return KeyCustomerID, "empty customer id", nil
				}
				if s := get(KeySignupTS); s != "" {
					ts, err := ParseTime(s, vals)
					if err != nil {
						return KeySignupTS, err.Error(), nil
					}
					c.SignupTS = ts
				}
				attrs := map[string]string{}
				for i, h := range header {
					if v := strings.TrimSpace(rec[i]); !mapped[h] && v != "" {
						attrs[strings.TrimSpace(h)] = v
					}
				}
				if len(attrs) > 0 {
					b, _ := json.Marshal(attrs) // keys sorted
					c.Attributes = string(b)
				}
				return "", "", good(c)
			}, nil
		}, func(c *Customer) {
			c.CustomerID, c.Email, c.Phone = strings.Clone(c.CustomerID), strings.Clone(c.Email), strings.Clone(c.Phone)
			c.Country, c.Attributes = strings.Clone(c.Country), strings.Clone(c.Attributes)
		}, good, bad)
	})
}

// ReadFeedbackFile reads a feedback file: kinds are normalised (NPS, 投诉
// → nps, complaint ...), scores checked against the kind's scale; future
// timestamps, unknown kinds and missing survey scores are bad rows.
func ReadFeedbackFile(ctx context.Context, path string, opt ReadOptions, good func(Feedback) error, bad func(BadRow) error) (FileStats, error) {
	notAfter := int64(0)
	if !opt.NotAfter.IsZero() {
		notAfter = opt.NotAfter.UnixMicro()
	}
	return readInputFile(ctx, path, opt, func(src rowSource) (FileStats, error) {
		return readTableFile(ctx, path, src, FeedbackTable, opt, func(vals ValueOptions, _ *FileStats, good func(Feedback) error) (rowParser, error) {
			return func(rec []string, get func(string) string) (string, string, error) {
				f, col, reason := parseFeedback(get, vals, notAfter)
				if reason != "" {
					return col, reason, nil
				}
				return "", "", good(f)
			}, nil
		}, func(f *Feedback) { f.CustomerID, f.Kind = strings.Clone(f.CustomerID), strings.Clone(f.Kind) }, good, bad)
	})
}

func parseFeedback(get func(string) string, vals ValueOptions, notAfter int64) (Feedback, string, string) {
	f := Feedback{CustomerID: get(KeyCustomerID), Score: math.NaN()}
	if f.CustomerID == "" {
		return f, KeyCustomerID, "empty customer id"
	}
	ts, col, reason := parseTimeField(get, KeyTS, vals, notAfter)
	if reason != "" {
		return f, col, reason
	}
	f.TS = ts
	kind := normaliseHeader(get(KeyKind))
	if f.Kind = feedbackKindAliases[kind]; f.Kind == "" {
		return f, KeyKind, fmt.Sprintf("kind %q: want one of %s", get(KeyKind), strings.Join(FeedbackKinds, ", "))
	}
	s := get(KeyScore)
	rng, survey := feedbackRange[f.Kind]
	if s == "" {
		if survey {
			return f, KeyScore, fmt.Sprintf("%s answer without a score", f.Kind)
		}
		return f, "", ""
	}
	v, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return f, KeyScore, fmt.Sprintf("score %q is not a number", s)
	}
	if survey && (v < rng[0] || v > rng[1]) {
		return f, KeyScore, fmt.Sprintf("%s score %v outside %v–%v", f.Kind, v, rng[0], rng[1])
	}
	f.Score = v
	return f, "", ""
}

// Warehouse folders of the optional tables.
const (
	CustomersDir = "warehouse/customers"
	FeedbackDir  = "warehouse/feedback"
)

// TableInfo summarises a committed customers or feedback table.
type TableInfo struct {
	Rows, Customers int64
	Dropped         int64 // rows replaced (customers) or identical to another (feedback)
}

// readTableFile reads a table whose rows stand alone: in parallel chunks when
// it can (see parallelCSV), else row by row. newParser builds a parser that
// emits rows; own gives a row its own copies of its strings (a chunk's text
// is reused).
func readTableFile[T any](ctx context.Context, name string, src rowSource, table Table, opt ReadOptions,
	newParser func(vals ValueOptions, st *FileStats, emit func(T) error) (rowParser, error), own func(*T), good func(T) error, bad func(BadRow) error) (FileStats, error) {
	if cs, ok := parallelCSV(src, opt); ok {
		r, vals, err := newRowReader(name, src, table, opt)
		if err != nil {
			return *r.st, err
		}
		if _, err := newParser(vals, r.st, good); err != nil { // a file-level problem, before any chunk
			return *r.st, err
		}
		r.bad = bad
		return readParallel(ctx, cs, r, &opt, tableChunks(r, vals, newParser, own, good))
	}
	return readRows(ctx, name, src, table, opt, func(vals ValueOptions, st *FileStats) (rowParser, error) { return newParser(vals, st, good) }, bad)
}

// CommitCustomers merges rows into <workdir>/warehouse/customers (bucketed
// by customer like the transactions) and commits it atomically. A customer
// appears once: a later row for the same id updates an earlier one field by
// field — its non-empty fields win, empty ones keep the stored value, and
// attributes are united with the later value winning — and the new rows
// come after the stored ones, so the newest export wins. replace drops the
// stored rows first. Ingest streams its rows through NewCustomersWriter
// instead: the same table, without holding the export in memory.
func CommitCustomers(ctx context.Context, workdir string, buckets int, rows []Customer, replace bool) (TableInfo, error) {
	return commitRows(ctx, customersTable, workdir, buckets, rows, replace)
}

// NewCustomersWriter returns a writer of the customers table of workdir
// with n buckets (n ≤ 0: DefaultBuckets).
func NewCustomersWriter(workdir string, n int) (*TableWriter[Customer], error) {
	return newTableWriter(customersTable, workdir, n)
}

var customersTable = table[Customer]{dir: CustomersDir, kind: "warehouse/customers",
	id:      func(c Customer) string { return c.CustomerID },
	encode:  encodeCustomer,
	decode:  decodeCustomer,
	compare: func(a, b Customer) int { return strings.Compare(a.CustomerID, b.CustomerID) },
	same:    func(a, b Customer) bool { return a.CustomerID == b.CustomerID },
	merge:   mergeCustomer}

// mergeCustomer updates old with the non-empty fields of newer.
func mergeCustomer(old, newer Customer) Customer {
	if newer.SignupTS != 0 {
		old.SignupTS = newer.SignupTS
	}
	for _, f := range [][2]*string{{&old.Email, &newer.Email}, {&old.Phone, &newer.Phone}, {&old.Country, &newer.Country}} {
		if *f[1] != "" {
			*f[0] = *f[1]
		}
	}
	if newer.Attributes != "" {
		attrs := map[string]string{}
		json.Unmarshal([]byte(old.Attributes), &attrs)
		json.Unmarshal([]byte(newer.Attributes), &attrs)
		b, _ := json.Marshal(attrs)
		old.Attributes = string(b)
	}
	return old
}

// CommitFeedback merges rows into <workdir>/warehouse/feedback, dropping
// rows identical to another, and commits it atomically (ingest streams
// its rows through NewFeedbackWriter instead).
func CommitFeedback(ctx context.Context, workdir string, buckets int, rows []Feedback, replace bool) (TableInfo, error) {
	return commitRows(ctx, feedbackTable, workdir, buckets, rows, replace)
}

// NewFeedbackWriter returns a writer of the feedback table, as
// NewCustomersWriter.
func NewFeedbackWriter(workdir string, n int) (*TableWriter[Feedback], error) {
	return newTableWriter(feedbackTable, workdir, n)
}

var feedbackTable = table[Feedback]{dir: FeedbackDir, kind: "warehouse/feedback",
	id: func(f Feedback) string { return f.CustomerID }, compare: compareFeedback, same: sameFeedback,
	encode: encodeFeedback, decode: decodeFeedback,
	merge: func(_, b Feedback) Feedback { return b }}

// AssembleTable commits the customers (CustomersDir) or feedback
// (FeedbackDir) folder from the bucket files of shards (parts[b] is bucket
// b's, from Commit…Shard) and their shares added up, with the manifest a
// commit of all buckets at once writes: the same bytes.
func AssembleTable(workdir, dir string, parts []string, info TableInfo) error {
	kind := customersTable.kind
	if dir == FeedbackDir {
		kind = feedbackTable.kind
	}
	return CommitFolder(filepath.Join(workdir, dir), func(tmp string) (Manifest, error) {
		if err := placeBuckets(tmp, parts); err != nil {
			return Manifest{}, err
		}
		return tableManifest(kind, len(parts), info), nil
	})
}

func tableManifest(kind string, buckets int, info TableInfo) Manifest {
	return Manifest{Kind: kind, Rows: info.Rows, Meta: map[string]string{
		"buckets": strconv.Itoa(buckets), "customers": strconv.FormatInt(info.Customers, 10)}}
}

func compareFeedback(a, b Feedback) int {
	return cmp.Or(strings.Compare(a.CustomerID, b.CustomerID), cmp.Compare(a.TS, b.TS), strings.Compare(a.Kind, b.Kind), cmp.Compare(a.Score, b.Score))
}

func sameFeedback(a, b Feedback) bool {
	return a.CustomerID == b.CustomerID && a.TS == b.TS && a.Kind == b.Kind &&
		(a.Score == b.Score || math.IsNaN(a.Score) && math.IsNaN(b.Score))
}

// table is how a customer-keyed table merges: rows are bucketed by id,
// sorted by compare (stable, so for equal keys the stored rows come first
// and the new ones last), and every run that same calls equal is folded
// into one row with merge (earlier, later). encode and decode give a row's
// spill form (tablewriter.go).
type table[T any] struct {
	dir, kind string
	id        func(T) string
	compare   func(a, b T) int
	same      func(a, b T) bool
	merge     func(a, b T) T
	encode    func(dst []byte, r *T) []byte
	decode    func(p []byte, r *T) ([]byte, error)
}

// FeedbackForBucket returns the stored feedback rows of the customers in
// transaction bucket b of n, sorted by customer then time; none when there
// is no feedback table. When the feedback was bucketed differently, every
// row is read and filtered.
func FeedbackForBucket(workdir string, b, n int) ([]Feedback, error) {
	root := filepath.Join(workdir, FeedbackDir)
	m, err := ReadManifest(root)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(root, ManifestName)); os.IsNotExist(statErr) {
			return nil, nil
		}
		return nil, err
	}
	if fbn, _ := strconv.Atoi(m.Meta["buckets"]); fbn == n {
		return readFeedbackColumns(filepath.Join(BucketDir(root, b), "part-00000.parquet"))
	}
	all, err := ReadFeedback(workdir)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(all, func(f Feedback) bool { return Bucket(f.CustomerID, n) != b })
	slices.SortStableFunc(out, compareFeedback)
	return out, nil
}

// readFeedbackColumns reads a feedback part page by page (ColumnScan):
// customer ids (sorted) are copied once a customer and kinds interned, not
// allocated per row.
func readFeedbackColumns(path string) ([]Feedback, error) {
	s, err := openColumnScan(path, KeyCustomerID, KeyTS, KeyKind, KeyScore)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := make([]Feedback, 0, s.Rows())
	var lastID, kind string
	var lastKind []byte
	kindSeen := false
	for s.Next() {
		c := s.Chunk()
		ids, _ := c.Text(KeyCustomerID)
		kinds, _ := c.Text(KeyKind)
		ts, scores := c.Int64s(KeyTS), c.Float64s(KeyScore)
		if ids == nil || ts == nil || kinds == nil || scores == nil {
			return nil, &DataError{File: path, Msg: fmt.Sprintf("not a feedback table: columns %v", c.Names())}
		}
		for i := range c.N {
			if string(ids[i]) != lastID {
				lastID = string(ids[i])
			}
			if k := kinds[i]; !kindSeen || string(k) != string(lastKind) {
				lastKind, kindSeen = k, true
				if j := slices.Index(FeedbackKinds, string(k)); j >= 0 {
					kind = FeedbackKinds[j]
				} else {
					kind = string(k)
				}
			}
			out = append(out, Feedback{CustomerID: lastID, TS: ts[i], Kind: kind, Score: scores[i]})
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadCustomers returns every stored customer row (tests, notebooks, small tools).
func ReadCustomers(workdir string) ([]Customer, error) {
	return readTable[Customer](workdir, CustomersDir)
}

// EachContact calls fn with the id, email and phone of every stored
// customer, reading only those three columns (not the attributes); the
// strings are valid during the call only. A workdir without a customers
// table gives an error wrapping fs.ErrNotExist, as ReadCustomers does.
func EachContact(workdir string, fn func(id, email, phone string)) error {
	root := filepath.Join(workdir, CustomersDir)
	m, err := ReadManifest(root)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(m.Meta["buckets"])
	for b := range n {
		path := filepath.Join(BucketDir(root, b), "part-00000.parquet")
		rr, closeFile, err := openParquetRecords(context.Background(), path, memory.DefaultAllocator, KeyCustomerID, "email", "phone")
		if err != nil {
			return err
		}
		for rr.Next() {
			rec := rr.RecordBatch()
			ids, ok1 := AsText(Column(rec, KeyCustomerID))
			emails, ok2 := AsText(Column(rec, "email"))
			phones, ok3 := AsText(Column(rec, "phone"))
			if !ok1 || !ok2 || !ok3 {
				rr.Release()
				closeFile()
				return &DataError{File: path, Msg: "not a customers table: " + rec.Schema().String()}
			}
			for i := range int(rec.NumRows()) {
				fn(ids.Value(i), emails.Value(i), phones.Value(i))
			}
		}
		err = rr.Err()
		rr.Release()
		closeFile()
		if err != nil {
			return fmt.Errorf("datasets: read %s: %w", path, err)
		}
	}
	return nil
}

// ReadFeedback returns every stored feedback row.
func ReadFeedback(workdir string) ([]Feedback, error) {
	return readTable[Feedback](workdir, FeedbackDir)
}

func readTable[T any](workdir, dir string) ([]T, error) {
	root := filepath.Join(workdir, dir)
	m, err := ReadManifest(root)
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(m.Meta["buckets"])
	var out []T
	for b := range n {
		rows, err := readParquetRows[T](filepath.Join(BucketDir(root, b), "part-00000.parquet"))
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}
