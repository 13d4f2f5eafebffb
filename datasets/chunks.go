package datasets

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Reading CSV in parallel: one goroutine cuts the text into chunks of whole
// records, workers parse the chunks into rows, and the rows reach the
// caller chunk by chunk in file order, exactly as a sequential read gives
// them (same rows, bad rows, line numbers and counts).

// defaultChunk is the size a chunk of records grows to before it is cut.
const defaultChunk = 4 << 20

// States of the record-boundary scanner, which follows encoding/csv's
// grammar (strict quotes): a newline ends a record unless it is inside a
// quoted field, and a syntax error skips the rest of its line.
const (
	sRecord   = iota // start of a record (and of its first field)
	sField           // start of a later field
	sUnquoted        // inside an unquoted field
	sQuoted          // inside a quoted field
	sQuote           // a quote inside a quoted field: its end or the first of ""
	sQuoteCR         // a closing quote then \r
	sBad             // after a syntax error, up to the end of the line
)

// chunker cuts a CSV stream (after its header) into chunks of whole records.
type chunker struct {
	r     io.Reader
	delim byte
	size  int // chunk size
	// free holds buffers of chunks that are done with, for reuse (nil: none)
	free  chan []byte
	buf   []byte
	eof   bool
	pos   int   // scanned up to here
	state uint8 // scanner state at pos
	cut   int   // end of the last whole record in buf
}

// next returns the next chunk as text and the buffer that holds it (to hand
// back through free once the text is no longer used), or io.EOF.
func (c *chunker) next() (string, []byte, error) {
	for {
		if c.eof || len(c.buf) >= c.size {
			cut := len(c.buf)
			if !c.eof {
				c.scan()
				cut = c.cut
			}
			if cut > 0 {
				// The chunk keeps its buffer, which is not written again until
				// the chunk is done with and hands it back (the rest moves to
				// another), so the text needs no copy.
				buf := c.buf
				text := unsafe.String(&buf[0], cut)
				rest := buf[cut:]
				var next []byte
				select {
				case next = <-c.free:
				default:
				}
				if cap(next) < len(rest)+c.size {
					next = make([]byte, 0, max(c.size+c.size/4, len(rest)+c.size))
				}
				c.buf = append(next[:0], rest...)
				c.pos -= cut
				c.cut = 0
				return text, buf, nil
			}
			if c.eof {
				return "", nil, io.EOF
			}
		}
		want := max(c.size-len(c.buf), c.size/4, 1) // a record longer than a chunk grows the buffer
		c.buf = slices.Grow(c.buf, want)
		n, err := c.r.Read(c.buf[len(c.buf) : len(c.buf)+want])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return "", nil, err
		}
	}
}

// scan advances the record-boundary scanner over the unscanned bytes.
func (c *chunker) scan() {
	buf := c.buf
	if c.state == sRecord && bytes.IndexByte(buf[c.pos:], '"') < 0 {
		// No quotes: every newline ends a record. The scan resumes at the
		// last one, still at a record's start (the fast path again).
		tail := buf[c.pos:]
		if i := bytes.LastIndexByte(tail, '\n'); i >= 0 {
			c.cut = c.pos + i + 1
			c.pos = c.cut
			return
		}
		c.pos = len(buf) // a line longer than the buffer: go on from its end
		switch {
		case len(tail) == 0:
		case tail[len(tail)-1] == c.delim:
			c.state = sField
		default:
			c.state = sUnquoted
		}
		return
	}
	st, d, start := c.state, c.delim, c.pos
	for i := c.pos; i < len(buf); i++ {
		b := buf[i]
		switch st {
		case sRecord, sField:
			switch b {
			case '"':
				st = sQuoted
			case d:
				st = sField
			case '\n':
				st, c.cut = sRecord, i+1
			default:
				st = sUnquoted
			}
		case sUnquoted:
			switch b {
			case d:
				st = sField
			case '\n':
				st, c.cut = sRecord, i+1
			case '"':
				st = sBad // a bare quote: csv rejects the record and goes on after the line
			}
		case sQuoted:
			if b == '"' {
				st = sQuote
			}
		case sQuote:
			switch b {
			case '"':
				st = sQuoted
			case d:
				st = sField
			case '\n':
				st, c.cut = sRecord, i+1
			case '\r':
				st = sQuoteCR
			default:
				st = sBad
			}
		case sQuoteCR:
			if b == '\n' {
				st, c.cut = sRecord, i+1
			} else {
				st = sBad
			}
		case sBad:
			if b == '\n' {
				st, c.cut = sRecord, i+1
			}
		}
	}
	c.state, c.pos = st, len(buf)
	if c.cut > start {
		// Resume at the last record boundary: the next scan may take the
		// fast path again (one quoted field must not slow the whole file).
		c.state, c.pos = sRecord, c.cut
	}
}

// eachRecord reads the records of one chunk whose first line is line: a
// chunk without quotes is split on newlines and delimiters directly (what
// encoding/csv does to such text), others go through encoding/csv. fn gets
// each record and its line; lost gets each syntax error and how many
// records it spans.
func eachRecord(name, text string, line int, delim rune, fn func(rec []string, line int) error, lost func(de *DataError, n int) error) error {
	if strings.IndexByte(text, '"') >= 0 {
		cr := csv.NewReader(strings.NewReader(text))
		cr.Comma, cr.ReuseRecord, cr.FieldsPerRecord = delim, true, -1
		src := &csvSource{name: name, cr: cr}
		for {
			rec, at, n, err := src.next()
			if err == io.EOF {
				return nil
			}
			var de *DataError
			if errors.As(err, &de) && n > 0 {
				de.Line += line - 1
				if err := lost(de, n); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			if err := fn(rec, at+line-1); err != nil {
				return err
			}
		}
	}
	d := byte(delim)
	rec := make([]string, 0, 32)
	for at := line; len(text) > 0; at++ {
		var l string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			l, text = text, ""
		}
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue // encoding/csv skips empty lines
		}
		rec = splitFields(rec[:0], l, d)
		if err := fn(rec, at); err != nil {
			return err
		}
	}
	return nil
}

// splitFields appends the fields of line l, split at every byte d, to rec
// (strings.Split's fields). It looks at eight bytes a step: a line's
// fields are short, and a search call per field costs more than the field.
func splitFields(rec []string, l string, d byte) []string {
	const ones, high7 = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f
	pattern := ones * uint64(d)
	start, i := 0, 0
	for ; i+8 <= len(l); i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(l[i:]), 8)) ^ pattern
		// The high bit of each byte of m is set exactly where x's byte is
		// zero: no carry crosses a byte, so no byte is flagged falsely.
		m := ^(((x & high7) + high7) | x | high7)
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			rec = append(rec, l[start:j])
			start = j + 1
			m &= m - 1
		}
	}
	for ; i < len(l); i++ {
		if l[i] == d {
			rec = append(rec, l[start:i])
			start = i + 1
		}
	}
	return append(rec, l[start:])
}

// chunk is one chunk of an input file and what parsing it gave.
type chunk[T any] struct {
	text  string
	buf   []byte // holds text
	line  int
	lines int // newlines in text
	seq   int
	rows  []T
	bad   []BadRow
	st    FileStats
	lead  leadInfo    // transactions: how the first rows depend on the fill-down state before
	end   fillState   // transactions: the fill-down state after the chunk
	parts *spillParts // transactions: the rows by bucket, for a warehouse writer
	err   error
	done  chan struct{}
}

type txChunk = chunk[Transaction]

// interner keeps one copy of the repeated strings of rows (category,
// channel, product, and runs of one customer or order), so rows do not pin
// chunk texts and equal values share memory.
type interner struct {
	m                   map[string]string
	lastCust, lastOrder string
}

const maxInterned = 1 << 16

func (in *interner) small(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(in.m) < maxInterned {
		in.m[v] = v
	}
	return v
}

func (in *interner) row(t *Transaction) {
	if t.CustomerID != in.lastCust {
		in.lastCust = strings.Clone(t.CustomerID)
	}
	t.CustomerID = in.lastCust
	if t.OrderID != in.lastOrder {
		in.lastOrder = strings.Clone(t.OrderID)
	}
	t.OrderID = in.lastOrder
	t.ProductID, t.Category, t.Channel = in.small(t.ProductID), in.small(t.Category), in.small(t.Channel)
	t.LineID, t.LineKind = in.small(t.LineID), in.small(t.LineKind)
}

// parseChunk parses c's records with a line parser that starts from state
// from (nil: from scratch, recording how the leading rows depend on it).
// The rows' strings are still parts of the chunk's text.
func parseChunk(c *txChunk, r *rowReader, opt *ReadOptions, vals ValueOptions, from *fillState) {
	parseChunkTo(c, r, opt, vals, from, func(t Transaction) error {
		c.rows = append(c.rows, t)
		return nil
	})
}

// parseChunkTo is parseChunk handing the rows to good instead of c.rows.
func parseChunkTo(c *txChunk, r *rowReader, opt *ReadOptions, vals ValueOptions, from *fillState, good func(Transaction) error) {
	c.rows, c.bad, c.st = c.rows[:0], nil, FileStats{}
	p := newLineParser(opt, vals, &c.st, good, r.st.Columns)
	if from != nil {
		p.last = *from
	} else {
		p.track = true
	}
	readChunk(c, r, func(rec []string, get func(string) string) (string, string, error) { return p.parse(get) })
	c.lead, c.end = p.lead, p.last
}

// readChunk runs the records of c through parse, collecting bad rows in c.
func readChunk[T any](c *chunk[T], r *rowReader, parse rowParser) {
	var bad func(BadRow) error
	if r.bad != nil {
		bad = func(b BadRow) error {
			// The chunk's buffer is reused once it is delivered: keep no part of it.
			b.Reason, b.Raw, b.Field = strings.Clone(b.Reason), strings.Clone(b.Raw), strings.Clone(b.Field)
			c.bad = append(c.bad, b)
			return nil
		}
	}
	cr := r.fork(&c.st, parse, bad)
	c.err = eachRecord(r.name, c.text, c.line, r.delim, cr.record, cr.lost)
}

// chunkReader says how a parallel read parses and hands on chunks: parse
// runs in a worker (from nil) or, when depends says the chunk reads
// differently after the previous one's fill-down state, again in the
// collector (from that state); prepare runs after each parse, in the same
// goroutine; deliver runs in file order.
type chunkReader[T any] struct {
	parse   func(c *chunk[T], from *fillState)
	depends func(c *chunk[T], prev fillState) bool // nil: chunks stand alone
	prepare func(c *chunk[T])
	deliver func(c *chunk[T]) error
	noRows  bool // parse hands the rows on itself: chunks need no row buffer
}

// deliverRows hands every row to good (errStop ends the read early).
func deliverRows[T any](good func(T) error) func(c *chunk[T]) error {
	return func(c *chunk[T]) error {
		for i := range c.rows {
			if err := good(c.rows[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// txChunks reads transactions, parsed with fill-down, into rows with their
// own strings, handed to good.
func txChunks(r *rowReader, opt *ReadOptions, vals ValueOptions, good func(Transaction) error) chunkReader[Transaction] {
	return chunkReader[Transaction]{
		parse:   func(c *txChunk, from *fillState) { parseChunk(c, r, opt, vals, from) },
		depends: leadDepends,
		prepare: internRows,
		deliver: deliverRows(good),
	}
}

// leadDepends reports whether a transactions chunk reads differently after
// the fill-down state prev than from scratch.
func leadDepends(c *txChunk, prev fillState) bool { return c.lead.dependsOn(prev) }

// internRows gives the rows their own copies of their strings.
func internRows(c *txChunk) {
	in := &interner{m: map[string]string{}}
	for i := range c.rows {
		in.row(&c.rows[i])
	}
}

// warehouseChunks queues the rows of a transactions file in a warehouse
// writer: the parser's rows go straight into the chunk's spill parts.
func warehouseChunks(r *rowReader, opt *ReadOptions, vals ValueOptions, w *WarehouseWriter) chunkReader[Transaction] {
	return chunkReader[Transaction]{
		parse: func(c *txChunk, from *fillState) {
			e := w.encoder()
			parseChunkTo(c, r, opt, vals, from, func(t Transaction) error {
				e.add(&t)
				return nil
			})
			c.parts = e.sp
		},
		depends: leadDepends,
		prepare: func(*txChunk) {},
		deliver: func(c *txChunk) error { return w.addParts(c.parts) },
		noRows:  true,
	}
}

// tableChunks reads the rows of a table whose rows stand alone (customers,
// feedback): newParser builds a parser that emits into the chunk; own gives
// a row its own copies of its strings.
func tableChunks[T any](r *rowReader, vals ValueOptions, newParser func(vals ValueOptions, st *FileStats, emit func(T) error) (rowParser, error),
	own func(*T), good func(T) error) chunkReader[T] {
	return chunkReader[T]{
		parse: func(c *chunk[T], _ *fillState) {
			c.rows, c.bad, c.st = c.rows[:0], nil, FileStats{}
			parse, err := newParser(vals, &c.st, func(t T) error { c.rows = append(c.rows, t); return nil })
			if err != nil {
				c.err = err
				return
			}
			readChunk(c, r, parse)
		},
		prepare: func(c *chunk[T]) {
			for i := range c.rows {
				own(&c.rows[i])
			}
		},
		deliver: deliverRows(good),
	}
}

// parallelCSV reports whether src can be read in parallel chunks with these
// options: CSV with a one-byte delimiter and more than one worker.
func parallelCSV(src rowSource, opt ReadOptions) (*csvSource, bool) {
	cs, ok := src.(*csvSource)
	if !ok || opt.Workers <= 1 || cs.br == nil {
		return nil, false
	}
	switch d := cs.delim; {
	case d >= 0x80, d == '"', d == '\r', d == '\n':
		return nil, false
	}
	return cs, true
}

// readParallel reads the records of cs after its header on opt.Workers
// goroutines, chunk by chunk, as cr says.
func readParallel[T any](ctx context.Context, cs *csvSource, r *rowReader, opt *ReadOptions, cr chunkReader[T]) (FileStats, error) {
	st := *r.st
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := 2 * opt.Workers
	work, order := make(chan *chunk[T], inflight), make(chan *chunk[T], inflight)
	ck := &chunker{r: cs.br, delim: byte(cs.delim), size: cmp.Or(opt.chunk, defaultChunk), free: make(chan []byte, inflight+opt.Workers)}
	// Row buffers go round: a chunk's rows are dropped once delivered.
	free := make(chan []T, inflight+opt.Workers)
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Go(func() {
			for c := range work {
				select {
				case c.rows = <-free:
				default:
					if !cr.noRows {
						c.rows = make([]T, 0, c.lines+c.lines/8)
					}
				}
				if ctx.Err() == nil {
					cr.parse(c, nil)
					cr.prepare(c)
				}
				close(c.done)
			}
		})
	}
	// The collector hands rows on in file order, parsing a chunk again when
	// its first order continues the previous chunk's with filled-down fields.
	var collectErr error
	stopped := false
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		var prev fillState
		for c := range order {
			<-c.done
			if collectErr != nil || stopped || ctx.Err() != nil {
				continue
			}
			if cr.depends != nil && cr.depends(c, prev) {
				cr.parse(c, &prev)
				cr.prepare(c)
			}
			prev = c.end.clone() // the chunk's buffer is reused once it is delivered
			st.addCounts(c.st)
			var err error
			for _, b := range c.bad {
				if err = r.bad(b); err != nil {
					break
				}
			}
			if err == nil {
				err = cr.deliver(c)
			}
			if err == nil {
				err = c.err // the chunk's rows before its error count, as in a sequential read
			}
			if err == errStop {
				stopped = true
				err = nil
			}
			collectErr = err
			if collectErr != nil || stopped {
				cancel()
			}
			clear(c.rows)
			select {
			case free <- c.rows[:0]:
			default:
			}
			if c.buf != nil {
				select {
				case ck.free <- c.buf:
				default:
				}
			}
			c.rows, c.bad, c.text, c.buf, c.parts = nil, nil, "", nil, nil
		}
	}()
	line, seq := cs.dataLine, 0
	var readErr error
	for ctx.Err() == nil {
		text, buf, err := ck.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		c := &chunk[T]{text: text, buf: buf, line: line, lines: strings.Count(text, "\n"), seq: seq, done: make(chan struct{})}
		seq++
		line += c.lines
		order <- c
		work <- c
	}
	close(work)
	close(order)
	wg.Wait()
	<-collected
	switch {
	case collectErr != nil:
		return st, collectErr
	case readErr != nil:
		return st, fmt.Errorf("datasets: read %s: %w", r.name, readErr)
	case stopped:
		return st, nil
	}
	return st, context.Cause(ctx)
}

// addCounts adds another part's row counts to st.
func (st *FileStats) addCounts(o FileStats) {
	st.Rows += o.Rows
	st.Loaded += o.Loaded
	st.Bad += o.Bad
	st.Guests += o.Guests
	st.ZeroPrice += o.ZeroPrice
	st.CancelLines += o.CancelLines
	st.CancelledLines += o.CancelledLines
	st.RefundLines += o.RefundLines
	AddKindCounts(&st.NonProduct, o.NonProduct)
}

// AddKindCounts adds counts by kind (FileStats.NonProduct) to *dst, making
// the map when needed.
func AddKindCounts(dst *map[string]int64, src map[string]int64) {
	for k, v := range src {
		if *dst == nil {
			*dst = map[string]int64{}
		}
		(*dst)[k] += v
	}
}
