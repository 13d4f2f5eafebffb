package datasets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// WarehouseWriter collects canonical rows by bucket and commits them as
// bucket=NNN/part-00000.parquet files, each sorted by (customer_id, ts, ...)
// with identical rows kept once. Queued rows go to one spill file per bucket
// in a hidden folder of the work directory, in arrival order, so memory
// does not grow with the input; Commit then takes the buckets one per
// worker: the stored warehouse's rows and the spilled ones in a compact
// form (each bucket keeps its strings once in a table and its rows refer to
// them by number, so rows hold no pointers and sort by plain copies),
// sorted, de-duplicated and written. Memory holds a bucket per worker.
// Close removes the spill folder; call it whatever happens.
type WarehouseWriter struct {
	n      int          // buckets committed; with auto, decided by Buckets
	auto   bool         // the bucket count is AutoBuckets', not yet decided
	dir    string       // the spill folder
	spills []*spillFile // by spill bucket: n of them, or MaxAutoBuckets with auto
	mu     sync.Mutex   // guards info
	info   WarehouseInfo
	// existing is the work directory whose warehouse comes before the
	// queued rows of each bucket at Commit: its count (existingN) is the
	// writer's, or divides it or is divided by it (AddWarehouse).
	existing     string
	existingN    int   // the stored warehouse's bucket count
	perBucket    int64 // RowsPerBucket (tests make it small)
	cancelPrefix string
	// only, when set, limits the buckets spilled and committed (a shard's):
	// rows of other buckets are counted, not kept.
	only func(b int) bool
	// parts holds encoded parts already spilled, for encode to fill again:
	// their buffers come back at the size a chunk needs.
	parts sync.Pool
}

// Only makes the writer keep and commit only the buckets keep accepts (a
// shard's, for CommitShard); the rows of the others are still counted in
// the totals every shard shares (rows before de-duplication, time range).
// With an automatic bucket count keep is asked of spill buckets as well as
// of the final ones, so it must judge a spill bucket f as it judges f mod
// n for the count n decided (b mod k = i does when k divides n).
func (w *WarehouseWriter) Only(keep func(b int) bool) { w.only = keep }

func (w *WarehouseWriter) keeps(b int) bool { return w.only == nil || w.only(b) }

// WarehouseCommit is what Commit did besides writing: the rows it dropped
// as duplicates or superseded lines, and the cancellation lines it linked
// to their orders (and could not).
type WarehouseCommit struct {
	Dropped, CancelsLinked, CancelsNotLinked int64
}

// wrow is a Transaction whose strings are ids in its bucket's table.
type wrow struct {
	TS, AmountCents, DiscountCents, UnitPriceCents, PointsEarned, PointsRedeemed int64
	Quantity                                                                     int32
	Cust, Order, Product, Category, Channel, LineID, LineKind                    uint32
}

// bucketRows is one bucket's rows in arrival order and its string table,
// built by one goroutine at Commit.
type bucketRows struct {
	strs  strTable          // id → string; 0 is ""
	custs map[string]uint32 // customer id → id
	vals  map[string]uint32 // product, category, channel, line id or kind → id
	arena []byte            // the block strings are being copied into
	segs  [][]wrow          // rows in arrival order, in segments; each sorted after compact
	perm  []uint64          // after compact: the kept rows in warehouse order, as segment<<32 | index
	// the last customer and order interned: rows of one order come together
	lastCust, lastOrder     string
	lastCustID, lastOrderID uint32
	// each value column's last string and id: an order's lines repeat
	// categories, channels and kinds (product, category, channel, line
	// id, line kind)
	lastVal   [5]string
	lastValID [5]uint32
}

// strTable holds strings by id in blocks that never move: adding one never
// copies the table (a bucket holds hundreds of thousands of order ids).
type strTable struct {
	blocks [][]string
	n      int
}

const strBlock = 1 << 14

// newStrTable returns a table whose id 0 is "".
func newStrTable() strTable {
	var t strTable
	t.add("")
	return t
}

func (t *strTable) add(s string) uint32 {
	if t.n%strBlock == 0 {
		t.blocks = append(t.blocks, make([]string, 0, strBlock))
	}
	b := &t.blocks[len(t.blocks)-1]
	*b = append(*b, s)
	t.n++
	return uint32(t.n - 1)
}

func (t *strTable) get(id uint32) string { return t.blocks[id/strBlock][id%strBlock] }

// addChunk is the row count of the segments Add fills.
const addChunk = 1 << 13

// NewWarehouseWriter returns a writer with n buckets spilling into a
// hidden folder of workdir (one that CleanStale removes should the process
// die before Close). n ≤ 0 makes the count automatic: the rows are spilled
// into MaxAutoBuckets buckets while read, and Buckets decides the count
// from all of them (AutoBuckets).
func NewWarehouseWriter(workdir string, n int) (*WarehouseWriter, error) {
	auto := n <= 0
	if auto {
		n = 0
	}
	if err := os.MkdirAll(workdir, DirMode); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	dir, err := os.MkdirTemp(workdir, ".ingest.tmp-")
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	w := &WarehouseWriter{n: n, auto: auto, dir: dir, perBucket: RowsPerBucket, info: WarehouseInfo{Buckets: n}}
	if auto {
		w.setSpills(MaxAutoBuckets)
	} else {
		w.setSpills(n)
	}
	return w, nil
}

// setSpills makes k spill buckets (before any row is spilled).
func (w *WarehouseWriter) setSpills(k int) {
	w.spills = make([]*spillFile, k)
	size := max(4<<10, min(256<<10, (32<<20)/k)) // at most 32 MB of buffers
	for b := range w.spills {
		w.spills[b] = &spillFile{path: filepath.Join(w.dir, fmt.Sprintf("bucket-%04d.spill", b)), size: size}
	}
}

// Buckets returns the writer's bucket count. An automatic one is decided
// by the first call, from the rows queued so far (the stored warehouse's
// included) and the stored count: call it once every row is queued.
func (w *WarehouseWriter) Buckets() int {
	if w.auto {
		w.n, w.auto = autoBuckets(w.info.Rows, w.existingN, w.perBucket), false
		w.info.Buckets = w.n
	}
	return w.n
}

// Close removes the spill folder.
func (w *WarehouseWriter) Close() error {
	for _, s := range w.spills {
		s.finish() // the files are discarded: a flush error does not matter
	}
	if err := os.RemoveAll(w.dir); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	return nil
}

func newBucketRows() *bucketRows {
	return &bucketRows{strs: newStrTable(), custs: map[string]uint32{}, vals: map[string]uint32{}}
}

// id returns the id of s in m, adding a copy of s when new.
func (b *bucketRows) id(m map[string]uint32, s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := m[s]; ok {
		return id
	}
	s = b.clone(s)
	id := b.strs.add(s)
	m[s] = id
	return id
}

// clone copies s into the bucket's arena: millions of short ids in a few
// large blocks instead of one allocation each. Bytes in the arena are never
// written twice, so the strings stay immutable.
func (b *bucketRows) clone(s string) string {
	if len(s) > cap(b.arena)-len(b.arena) {
		b.arena = make([]byte, 0, max(64<<10, len(s)))
	}
	off := len(b.arena)
	b.arena = append(b.arena, s...)
	return unsafe.String(&b.arena[off], len(s))
}

// row turns t into the bucket's compact form.
// Order ids are the one exception to "one id per string": there are about
// as many orders as rows, so an order gets a new id unless it is the
// previous row's (the lines of an order come together), and order ids are
// compared by their text.
func (b *bucketRows) row(t *Transaction) wrow {
	if t.CustomerID != b.lastCust || b.lastCustID == 0 {
		b.lastCustID = b.id(b.custs, t.CustomerID)
		b.lastCust = b.strs.get(b.lastCustID)
	}
	if t.OrderID == "" {
		b.lastOrder, b.lastOrderID = "", 0
	} else if t.OrderID != b.lastOrder || b.lastOrderID == 0 {
		b.lastOrder = b.clone(t.OrderID)
		b.lastOrderID = b.strs.add(b.lastOrder)
	}
	return wrow{TS: t.TS, AmountCents: t.AmountCents, DiscountCents: t.DiscountCents, UnitPriceCents: t.UnitPriceCents,
		PointsEarned: t.PointsEarned, PointsRedeemed: t.PointsRedeemed, Quantity: t.Quantity,
		Cust: b.lastCustID, Order: b.lastOrderID, Product: b.val(0, t.ProductID), Category: b.val(1, t.Category), Channel: b.val(2, t.Channel),
		LineID: b.val(3, t.LineID), LineKind: b.val(4, t.LineKind)}
}

// val is id(b.vals, s) for value column c, skipping the map when s is the
// column's previous string.
func (b *bucketRows) val(c int, s string) uint32 {
	if s == b.lastVal[c] {
		return b.lastValID[c] // 0 for "" until the column's first value
	}
	id := b.id(b.vals, s)
	b.lastVal[c], b.lastValID[c] = b.strs.get(id), id
	return id
}

// tx turns a compact row back into a Transaction.
func (b *bucketRows) tx(r *wrow) Transaction {
	s := &b.strs
	return Transaction{CustomerID: s.get(r.Cust), OrderID: s.get(r.Order), TS: r.TS, AmountCents: r.AmountCents, Quantity: r.Quantity,
		ProductID: s.get(r.Product), Category: s.get(r.Category), Channel: s.get(r.Channel), LineID: s.get(r.LineID), LineKind: s.get(r.LineKind),
		DiscountCents: r.DiscountCents, UnitPriceCents: r.UnitPriceCents, PointsEarned: r.PointsEarned, PointsRedeemed: r.PointsRedeemed}
}

// add appends t to the bucket's segments.
func (b *bucketRows) add(t *Transaction) {
	last := len(b.segs) - 1
	if last < 0 || len(b.segs[last]) == cap(b.segs[last]) {
		// Start a new segment instead of growing one: no repeated copying
		// of millions of rows.
		b.segs = append(b.segs, make([]wrow, 0, addChunk))
		last++
	}
	b.segs[last] = append(b.segs[last], b.row(t))
}

// note accounts for rows about to be added: the count and time range.
func (w *WarehouseWriter) note(n int64, minTS, maxTS int64) {
	if n == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.info.Rows == 0 || minTS < w.info.MinTS {
		w.info.MinTS = minTS
	}
	if w.info.Rows == 0 || maxTS > w.info.MaxTS {
		w.info.MaxTS = maxTS
	}
	w.info.Rows += n
}

// Add queues one row.
func (w *WarehouseWriter) Add(t Transaction) error {
	if b := Bucket(t.CustomerID, len(w.spills)); w.keeps(b) {
		if err := w.spills[b].appendRow(&t); err != nil {
			return err
		}
	}
	w.note(1, t.TS, t.TS)
	return nil
}

// spillParts are rows encoded by bucket (a chunk of a file read in
// parallel, or a bucket of a stored warehouse), with their count and time
// range.
type spillParts struct {
	bufs         [][]byte
	n            int64
	minTS, maxTS int64
}

// encode splits rows by bucket into the spill encoding; it needs no lock,
// so parsing workers call it.
func (w *WarehouseWriter) encode(rows []Transaction) *spillParts {
	e := w.encoder()
	for i := range rows {
		e.add(&rows[i])
	}
	return e.sp
}

// partEncoder encodes rows into spill parts one at a time, as a parser
// makes them: each row is spilled relative to the last one in its
// bucket's buffer, whose time and strings it keeps (views of the text
// being parsed, valid until the chunk is done with).
type partEncoder struct {
	w    *WarehouseWriter
	sp   *spillParts
	prev []Transaction
	has  []bool
}

func (w *WarehouseWriter) encoder() *partEncoder {
	sp, ok := w.parts.Get().(*spillParts)
	if !ok {
		sp = &spillParts{bufs: make([][]byte, len(w.spills))}
	}
	return &partEncoder{w: w, sp: sp, prev: make([]Transaction, len(w.spills)), has: make([]bool, len(w.spills))}
}

func (e *partEncoder) add(t *Transaction) {
	sp := e.sp
	if b := Bucket(t.CustomerID, len(e.w.spills)); e.w.keeps(b) {
		var prev *Transaction
		if e.has[b] {
			prev = &e.prev[b]
		}
		sp.bufs[b] = appendSpill(sp.bufs[b], t, prev)
		e.prev[b], e.has[b] = *t, true
	}
	if sp.n == 0 || t.TS < sp.minTS {
		sp.minTS = t.TS
	}
	if sp.n == 0 || t.TS > sp.maxTS {
		sp.maxTS = t.TS
	}
	sp.n++
}

// addParts queues encoded rows after what is queued; sp goes back to encode
// for reuse, so the caller drops it.
func (w *WarehouseWriter) addParts(sp *spillParts) error {
	for b, p := range sp.bufs {
		if len(p) > 0 {
			if err := w.spills[b].append(p); err != nil {
				return err
			}
		}
	}
	w.note(sp.n, sp.minTS, sp.maxTS)
	for b := range sp.bufs {
		sp.bufs[b] = sp.bufs[b][:0]
	}
	*sp = spillParts{bufs: sp.bufs}
	w.parts.Put(sp) // written: encode may fill its buffers again
	return nil
}

// AddWarehouse queues every row of the warehouse under workdir, whatever
// its bucket count; a missing warehouse adds nothing. When one count
// divides the other (the writer's and the stored), the rows stay where they
// are until Commit reads them, a bucket at a time: a bucket takes the
// stored bucket it splits off (its own rows of it), or the stored buckets
// it joins. Otherwise they are spilled, bucket by bucket.
func (w *WarehouseWriter) AddWarehouse(workdir string) error {
	info, err := OpenWarehouse(workdir)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(workdir, WarehouseDir, ManifestName)); os.IsNotExist(statErr) {
			return nil
		}
		return err
	}
	if w.auto && MaxAutoBuckets%info.Buckets != 0 {
		// A count set by hand that automatic counts cannot grow from: it
		// stays, and rows are spilled by it.
		if w.info.Rows > 0 {
			return errors.New("datasets: AddWarehouse after rows were added")
		}
		w.n, w.auto, w.info.Buckets = info.Buckets, false, info.Buckets
		w.setSpills(w.n)
	}
	if w.auto || w.n%info.Buckets == 0 || info.Buckets%w.n == 0 {
		// Read at Commit (an automatic count is the stored one or a
		// multiple of it).
		w.existing, w.existingN = workdir, info.Buckets
		w.note(info.Rows, info.MinTS, info.MaxTS)
		return nil
	}
	// Another layout: read a few buckets in parallel, queue them in bucket
	// order (the same arrival order every time).
	step := max(1, runtime.GOMAXPROCS(0))
	for lo := 0; lo < info.Buckets; lo += step {
		hi := min(info.Buckets, lo+step)
		parts := make([]*spillParts, hi-lo)
		err := eachBucket(hi-lo, func(k int) error {
			rows, err := WarehouseBucketRows(workdir, lo+k)
			if err != nil {
				return err
			}
			parts[k] = w.encode(rows)
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := w.addParts(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// LinkCancellations makes Commit link the lines of cancellation invoices
// (order ids starting with prefix, e.g. C536379) to the original order
// (536379) of the same customer where it is in the data; the others stay
// as refunds under their own id.
func (w *WarehouseWriter) LinkCancellations(prefix string) { w.cancelPrefix = prefix }

// linkCancellations links one bucket's cancellation lines (see
// LinkCancellations) and returns how many it linked and could not.
func (bk *bucketRows) linkCancellations(prefix string) (linked, unlinked int64) {
	if prefix == "" {
		return 0, 0
	}
	type custOrder struct {
		cust  uint32
		order string
	}
	cancel, ok := bk.vals[LineCancellation]
	if !ok {
		return 0, 0
	}
	orders := map[custOrder]uint32{}
	for _, seg := range bk.segs {
		for _, r := range seg {
			if r.LineKind != cancel && r.Order != 0 {
				orders[custOrder{r.Cust, bk.strs.get(r.Order)}] = r.Order
			}
		}
	}
	for _, seg := range bk.segs {
		for i := range seg {
			r := &seg[i]
			orig, ok := strings.CutPrefix(bk.strs.get(r.Order), prefix)
			if r.LineKind != cancel || !ok {
				continue
			}
			if id, known := orders[custOrder{r.Cust, orig}]; known && orig != "" {
				r.Order = id
				linked++
			} else {
				unlinked++
			}
		}
	}
	return linked, unlinked
}

// Rows returns the number of rows queued (the stored warehouse's included).
func (w *WarehouseWriter) Rows() int64 { return w.info.Rows }

// compact drops, of rows with a line id, all but the latest version of
// each order line (a corrected export); puts the rows in the warehouse's
// order in bk.perm, keeping rows identical to another once. It returns how
// many rows it dropped. No row is copied into a new array: the bucket's
// rows stay where they were read.
//
// The rows are placed by customer with a counting sort, then each
// customer's few rows are sorted by the rest of the order. Rows that
// compare equal are equal in every field, so which of them stays does not
// change the output.
func (bk *bucketRows) compact() (dropped int) {
	superseded := bk.latestLines() // none in a bucket without line ids
	o := bk.order()
	start := make([]int, o.custs+1) // customer rank → its first row in perm
	n := 0
	for _, seg := range bk.segs {
		n += len(seg)
		for i := range seg {
			start[o.rank[seg[i].Cust]+1]++
		}
	}
	for c := range o.custs {
		start[c+1] += start[c]
	}
	perm := make([]uint64, n)
	fill := slices.Clone(start[:o.custs])
	for s, seg := range bk.segs {
		for i := range seg {
			k := o.rank[seg[i].Cust]
			perm[fill[k]] = uint64(s)<<32 | uint64(i)
			fill[k]++
		}
	}
	kept := perm[:0]
	// A customer's rows are sorted by time with the times beside them, so
	// a compare reads a row only when two times tie (the lines of an
	// order): the rows are scattered over the segments, and loading two a
	// compare was most of the sort's time.
	type timed struct {
		ts int64
		p  uint64
	}
	var buf []timed
	for c := range o.custs {
		rows := perm[start[c]:start[c+1]]
		if len(rows) == 1 {
			kept = append(kept, rows[0])
			continue
		}
		buf = buf[:0]
		for _, p := range rows {
			buf = append(buf, timed{bk.at(p).TS, p})
		}
		slices.SortFunc(buf, func(a, b timed) int {
			if a.ts != b.ts {
				return cmpInt(a.ts, b.ts)
			}
			return compareRest(bk.at(a.p), bk.at(b.p), o.strs) // one customer and time: the rest decides
		})
		// Identical rows are kept once: neighbours after the sort, with the
		// same time.
		for j, t := range buf {
			if j == 0 || t.ts != buf[j-1].ts || compareRest(bk.at(buf[j-1].p), bk.at(t.p), o.strs) != 0 {
				kept = append(kept, t.p)
			}
		}
	}
	bk.perm = kept
	return superseded + n - len(kept)
}

// rowOrder is the warehouse order on a bucket's rows: customer id text
// (ranked once), time, then every other field as compareTx orders them.
type rowOrder struct {
	rank  []uint32 // customer id → rank of its text
	custs int      // customers ranked
	strs  strTable
}

func (bk *bucketRows) order() *rowOrder {
	rank := make([]uint32, bk.strs.n)
	seen := make([]bool, bk.strs.n)
	var custs []uint32
	for _, seg := range bk.segs {
		for i := range seg {
			if c := seg[i].Cust; !seen[c] {
				seen[c] = true
				custs = append(custs, c)
			}
		}
	}
	slices.SortFunc(custs, func(a, b uint32) int { return strings.Compare(bk.strs.get(a), bk.strs.get(b)) })
	for i, c := range custs {
		rank[c] = uint32(i)
	}
	return &rowOrder{rank: rank, custs: len(custs), strs: bk.strs}
}

// compareRest orders rows of one customer and time by their other fields,
// as compareTx does; strs is the table of their string ids.
func compareRest(a, b *wrow, strs strTable) int {
	str := func(x, y uint32) int {
		if x == y {
			return 0
		}
		return strings.Compare(strs.get(x), strs.get(y))
	}
	if c := str(a.Order, b.Order); c != 0 {
		return c
	}
	if c := str(a.Product, b.Product); c != 0 {
		return c
	}
	if c := cmpInt(a.AmountCents, b.AmountCents); c != 0 {
		return c
	}
	if a.Quantity != b.Quantity {
		return int(a.Quantity - b.Quantity)
	}
	for _, p := range [][2]uint32{{a.Category, b.Category}, {a.Channel, b.Channel}, {a.LineID, b.LineID}, {a.LineKind, b.LineKind}} {
		if c := str(p[0], p[1]); c != 0 {
			return c
		}
	}
	return compareExtras(a.DiscountCents, a.UnitPriceCents, a.PointsEarned, a.PointsRedeemed,
		b.DiscountCents, b.UnitPriceCents, b.PointsEarned, b.PointsRedeemed)
}

// compareExtras orders rows that tie on everything else by discount, unit
// price and points, a's four values against b's.
func compareExtras(aDisc, aPrice, aEarned, aRedeemed, bDisc, bPrice, bEarned, bRedeemed int64) int {
	return cmp.Or(cmpInt(aDisc, bDisc), cmpInt(aPrice, bPrice), cmpInt(aEarned, bEarned), cmpInt(aRedeemed, bRedeemed))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// latestLines keeps, of rows sharing a (customer, order, line) identity
// with a line id, only the one that arrived last (rows are in arrival
// order: the stored warehouse first, then the files in order), and returns
// how many it dropped.
func (bk *bucketRows) latestLines() int {
	type key struct {
		c, l  uint32
		o     string
		s, at int
	}
	var keys []key
	for s, seg := range bk.segs {
		for i := range seg {
			if r := &seg[i]; r.LineID != 0 {
				keys = append(keys, key{r.Cust, r.LineID, bk.strs.get(r.Order), s, i})
			}
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmpInt(int64(a.c), int64(b.c)); c != 0 {
			return c
		}
		if c := strings.Compare(a.o, b.o); c != 0 {
			return c
		}
		if c := cmpInt(int64(a.l), int64(b.l)); c != 0 {
			return c
		}
		if a.s != b.s {
			return a.s - b.s
		}
		return a.at - b.at
	})
	drop := map[[2]int]bool{}
	for k := 0; k+1 < len(keys); k++ {
		if a, b := keys[k], keys[k+1]; a.c == b.c && a.o == b.o && a.l == b.l {
			drop[[2]int{a.s, a.at}] = true
		}
	}
	if len(drop) == 0 {
		return 0
	}
	for s, seg := range bk.segs {
		kept := seg[:0]
		for i, r := range seg {
			if !drop[[2]int{s, i}] {
				kept = append(kept, r)
			}
		}
		bk.segs[s] = kept
	}
	return len(drop)
}

// Commit atomically replaces <workdir>/warehouse/transactions with the
// queued rows, a bucket per worker: the stored rows (AddWarehouse) then
// the spilled ones in arrival order, cancellations linked, every bucket
// sorted, rows identical to another kept once and, for rows with a line
// id, only the latest version of each order line (a corrected export).
// meta, given what was dropped and linked, is added to the manifest.
func (w *WarehouseWriter) Commit(ctx context.Context, workdir string, meta func(WarehouseCommit) map[string]string) (WarehouseInfo, WarehouseCommit, error) {
	var wc WarehouseCommit
	root := filepath.Join(workdir, WarehouseDir)
	err := CommitFolder(root, func(tmp string) (Manifest, error) {
		sh, err := w.build(ctx, tmp)
		if err != nil {
			return Manifest{}, err
		}
		wc = sh.Commit
		return WarehouseManifest(sh, meta), nil
	})
	return w.info, wc, err
}

// WarehouseShard is what a shard's CommitShard wrote: its buckets' share
// of the manifest, and the totals every shard counts alike.
type WarehouseShard struct {
	Buckets             int
	Noted, MinTS, MaxTS int64 // every row queued (all buckets) and their time range
	Customers, Priced   int64 // in the shard's buckets
	Commit              WarehouseCommit
}

// Add adds another shard's share (the totals must agree).
func (s *WarehouseShard) Add(o WarehouseShard) error {
	if s.Buckets != o.Buckets || s.Noted != o.Noted || s.MinTS != o.MinTS || s.MaxTS != o.MaxTS {
		return fmt.Errorf("datasets: warehouse shards disagree on what they read: %d buckets, %d rows, %d…%d against %d, %d, %d…%d",
			s.Buckets, s.Noted, s.MinTS, s.MaxTS, o.Buckets, o.Noted, o.MinTS, o.MaxTS)
	}
	s.Customers += o.Customers
	s.Priced += o.Priced
	s.Commit.Dropped += o.Commit.Dropped
	s.Commit.CancelsLinked += o.Commit.CancelsLinked
	s.Commit.CancelsNotLinked += o.Commit.CancelsNotLinked
	return nil
}

// Totals returns the warehouse summary of every shard's share added up.
func (s WarehouseShard) Totals() WarehouseInfo {
	return WarehouseInfo{Buckets: s.Buckets, Rows: s.Noted - s.Commit.Dropped, Customers: s.Customers, MinTS: s.MinTS, MaxTS: s.MaxTS,
		Duplicates: s.Commit.Dropped, PricedRows: s.Priced}
}

// WarehouseManifest is the transactions folder's manifest of the shares
// sh added up; meta, when set, adds keys from what the commit did.
func WarehouseManifest(sh WarehouseShard, meta func(WarehouseCommit) map[string]string) Manifest {
	info := sh.Totals()
	m := Manifest{Kind: "warehouse/transactions", Rows: info.Rows, Meta: map[string]string{
		"buckets":     strconv.Itoa(info.Buckets),
		"customers":   strconv.FormatInt(info.Customers, 10),
		"min_ts":      strconv.FormatInt(info.MinTS, 10),
		"max_ts":      strconv.FormatInt(info.MaxTS, 10),
		"priced_rows": strconv.FormatInt(info.PricedRows, 10),
	}}
	if meta != nil {
		for k, v := range meta(sh.Commit) {
			m.Meta[k] = v
		}
	}
	return m
}

// CommitShard writes the writer's buckets (Only) into dir/bucket=NNN/
// (a folder the caller commits) and returns the shard's share, for
// AssembleWarehouse.
func (w *WarehouseWriter) CommitShard(ctx context.Context, dir string) (WarehouseShard, error) {
	return w.build(ctx, dir)
}

// build compacts and writes the writer's buckets into root/bucket=NNN/.
func (w *WarehouseWriter) build(ctx context.Context, root string) (WarehouseShard, error) {
	for _, s := range w.spills {
		if err := s.finish(); err != nil {
			return WarehouseShard{}, err
		}
	}
	n := w.Buckets()
	counts, priced := make([]int64, n), make([]int64, n)
	drops, linked, unlinked := make([]int64, n), make([]int64, n), make([]int64, n)
	err := eachBucket(n, func(b int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !w.keeps(b) {
			return nil
		}
		bk := newBucketRows()
		if w.existing != "" {
			// One count divides the other (AddWarehouse): bucket b's
			// stored rows are those of stored bucket b mod existingN that
			// hash to b, or all of stored buckets b, b+n, ...
			for e := b % w.existingN; e < w.existingN; e += n {
				rows, err := WarehouseBucketRows(w.existing, e)
				if err != nil {
					return err
				}
				for i := range rows {
					if n <= w.existingN || Bucket(rows[i].CustomerID, n) == b {
						bk.add(&rows[i])
					}
				}
			}
		}
		// Spill bucket f holds rows of bucket f mod n; each customer's rows
		// are in one of them, in arrival order.
		for f := b; f < len(w.spills); f += n {
			if err := readSpill(w.spills[f].path, bk.add); err != nil {
				return err
			}
		}
		linked[b], unlinked[b] = bk.linkCancellations(w.cancelPrefix)
		drops[b] = int64(bk.compact())
		dir := BucketDir(root, b)
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		counts[b], priced[b] = bk.counts()
		return bk.write(filepath.Join(dir, "part-00000.parquet"))
	})
	if err != nil {
		return WarehouseShard{}, err
	}
	sh := WarehouseShard{Buckets: n, Noted: w.info.Rows, MinTS: w.info.MinTS, MaxTS: w.info.MaxTS}
	for b := range counts {
		sh.Customers += counts[b]
		sh.Priced += priced[b]
		sh.Commit.Dropped += drops[b]
		sh.Commit.CancelsLinked += linked[b]
		sh.Commit.CancelsNotLinked += unlinked[b]
	}
	if w.only == nil {
		w.info = sh.Totals()
	}
	return sh, nil
}

// AssembleWarehouse commits the transactions folder from the bucket files
// of shards (part[b] is bucket b's file, from CommitShard), with the
// manifest a commit of all buckets at once writes: the same bytes.
func AssembleWarehouse(workdir string, parts []string, sh WarehouseShard, meta func(WarehouseCommit) map[string]string) error {
	if len(parts) != sh.Buckets {
		return fmt.Errorf("datasets: %d bucket files for a warehouse of %d buckets", len(parts), sh.Buckets)
	}
	return CommitFolder(filepath.Join(workdir, WarehouseDir), func(tmp string) (Manifest, error) {
		if err := placeBuckets(tmp, parts); err != nil {
			return Manifest{}, err
		}
		return WarehouseManifest(sh, meta), nil
	})
}

// placeBuckets puts part[b] at tmp/bucket=NNN/part-00000.parquet: a hard
// link when it can, else a copy.
func placeBuckets(tmp string, parts []string) error {
	return eachBucket(len(parts), func(b int) error {
		dir := BucketDir(tmp, b)
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		dst := filepath.Join(dir, "part-00000.parquet")
		if os.Link(parts[b], dst) == nil {
			return nil
		}
		return copyFile(parts[b], dst)
	})
}

// copyFile copies src to a new file dst, synced.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer in.Close()
	f, finish, err := createSynced(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(f.f, in) // the file's own ReadFrom (copy_file_range): not hashed, so read at commit
	return finish(err)
}

// at returns the row of a perm entry.
func (bk *bucketRows) at(p uint64) *wrow { return &bk.segs[p>>32][uint32(p)] }

// counts returns the customers and the rows with a list price of a compacted bucket.
func (bk *bucketRows) counts() (customers, priced int64) {
	var last uint32
	for i, p := range bk.perm {
		r := bk.at(p)
		if i == 0 || r.Cust != last {
			customers++
			last = r.Cust
		}
		if r.UnitPriceCents > 0 {
			priced++
		}
	}
	return customers, priced
}

// noPageBounds are the writer options that leave the named columns' pages
// without minimum and maximum, in the column index and in the page headers.
func noPageBounds(cols ...string) []parquet.WriterOption {
	var opts []parquet.WriterOption
	for _, c := range cols {
		opts = append(opts, parquet.SkipPageBounds(c), parquet.SkipPageStatistics(c))
	}
	return opts
}

// write writes a compacted bucket's rows to a Parquet file, in batches.
func (bk *bucketRows) write(path string) error {
	f, finish, err := createSynced(path)
	if err != nil {
		return err
	}
	// Page bounds (min/max) only where a reader could skip pages by them:
	// neither in the column index nor in the page headers of the other
	// columns (each costs parquet-go a pass over the page's values; a
	// dictionary page's is a scan of its strings).
	opts := append([]parquet.WriterOption{parquet.CreatedBy("churn", "", ""), parquet.MaxRowsPerRowGroup(1 << 20),
		parquet.Compression(newFileZstd(zstd.SpeedFastest))},
		noPageBounds(ColOrderID, ColProductID, ColCategory, ColChannel, ColLineID, ColLineKind)...)
	pw := parquet.NewGenericWriter[Transaction](f, opts...)
	batch := make([]Transaction, 0, 4096)
	for i := 0; i < len(bk.perm) && err == nil; i += cap(batch) {
		batch = batch[:0]
		for _, p := range bk.perm[i:min(len(bk.perm), i+cap(batch))] {
			batch = append(batch, bk.tx(bk.at(p)))
		}
		_, err = pw.Write(batch)
	}
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	return finish(err)
}
