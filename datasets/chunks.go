package datasets

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
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

// next returns the next chunk as text, or io.EOF.
func (c *chunker) next() (string, error) {
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
				text := unsafe.String(&c.buf[0], cut)
				rest := c.buf[cut:]
				var next []byte
				select {
				case next = <-c.free:
				default:
				}
				if cap(next) < len(rest)+c.size/4 {
					next = make([]byte, 0, max(c.size+c.size/4, len(rest)+c.size/4))
				}
				c.buf = append(next[:0], rest...)
				c.pos -= cut
				c.cut = 0
				return text, nil
			}
			if c.eof {
				return "", io.EOF
			}
		}
		want := max(c.size-len(c.buf), c.size/4, 1) // a record longer than a chunk grows the buffer
		c.buf = slices.Grow(c.buf, want)
		n, err := c.r.Read(c.buf[len(c.buf) : len(c.buf)+want])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return "", err
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
	st, d := c.state, c.delim
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
		rec = rec[:0]
		for {
			i := strings.IndexByte(l, d)
			if i < 0 {
				rec = append(rec, l)
				break
			}
			rec = append(rec, l[:i])
			l = l[i+1:]
		}
		if err := fn(rec, at); err != nil {
			return err
		}
	}
	return nil
}

// txChunk is one chunk of a transactions file and what parsing it gave.
type txChunk struct {
	text  string
	line  int
	lines int // newlines in text
	rows  []Transaction
	bad   []BadRow
	st    FileStats
	lead  leadInfo
	end   fillState
	seq   int
	parts [][]wrow // the rows by bucket, for a warehouse writer
	err   error
	done  chan struct{}
}

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
	c.rows, c.bad, c.st = c.rows[:0], nil, FileStats{}
	p := newLineParser(opt, vals, &c.st, func(t Transaction) error {
		c.rows = append(c.rows, t)
		return nil
	}, r.st.Columns)
	if from != nil {
		p.last = *from
	} else {
		p.track = true
	}
	var bad func(BadRow) error
	if r.bad != nil {
		bad = func(b BadRow) error {
			// The chunk's buffer is reused once it is delivered: keep no part of it.
			b.Reason, b.Raw, b.Field = strings.Clone(b.Reason), strings.Clone(b.Raw), strings.Clone(b.Field)
			c.bad = append(c.bad, b)
			return nil
		}
	}
	cr := r.fork(&c.st, func(rec []string, get func(string) string) (string, string, error) { return p.parse(get) }, bad)
	c.err = eachRecord(r.name, c.text, c.line, r.delim, cr.record, cr.lost)
	c.lead, c.end = p.lead, p.last
}

// txSink takes the rows of a parallel read: prepare runs on a chunk in the
// worker that parsed it (and again after a re-parse), deliver in file order.
type txSink struct {
	prepare func(c *txChunk)
	deliver func(c *txChunk) error
}

// callbackSink hands every row to good (errStop ends the read early).
func callbackSink(good func(Transaction) error) txSink {
	return txSink{
		prepare: func(c *txChunk) {
			in := &interner{m: map[string]string{}}
			for i := range c.rows {
				in.row(&c.rows[i])
			}
		},
		deliver: func(c *txChunk) error {
			for i := range c.rows {
				if err := good(c.rows[i]); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// warehouseSink queues the rows in a warehouse writer.
func warehouseSink(w *WarehouseWriter) txSink {
	return txSink{
		prepare: func(c *txChunk) { c.parts = w.split(c.rows, c.seq) },
		deliver: func(c *txChunk) error { w.addParts(c.parts); return nil },
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

// readTransactionsParallel is readTransactions on opt.Workers goroutines.
func readTransactionsParallel(ctx context.Context, cs *csvSource, r *rowReader, opt *ReadOptions, vals ValueOptions, sink txSink) (FileStats, error) {
	st := *r.st
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := 2 * opt.Workers
	work, order := make(chan *txChunk, inflight), make(chan *txChunk, inflight)
	ck := &chunker{r: cs.br, delim: byte(cs.delim), size: cmp.Or(opt.chunk, defaultChunk), free: make(chan []byte, inflight+opt.Workers)}
	// Row buffers go round: a chunk's rows are dropped once delivered.
	free := make(chan []Transaction, inflight+opt.Workers)
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Go(func() {
			for c := range work {
				select {
				case c.rows = <-free:
				default:
					c.rows = make([]Transaction, 0, c.lines+c.lines/8)
				}
				if ctx.Err() == nil {
					parseChunk(c, r, opt, vals, nil)
					sink.prepare(c)
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
			if c.lead.dependsOn(prev) {
				parseChunk(c, r, opt, vals, &prev)
				sink.prepare(c)
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
				err = sink.deliver(c)
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
			if c.text != "" {
				select {
				case ck.free <- unsafe.Slice(unsafe.StringData(c.text), len(c.text)):
				default:
				}
			}
			c.rows, c.bad, c.text, c.parts = nil, nil, "", nil
		}
	}()
	line, seq := cs.dataLine, 0
	var readErr error
	for ctx.Err() == nil {
		text, err := ck.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		c := &txChunk{text: text, line: line, lines: strings.Count(text, "\n"), seq: seq, done: make(chan struct{})}
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
	for k, v := range o.NonProduct {
		if st.NonProduct == nil {
			st.NonProduct = map[string]int64{}
		}
		st.NonProduct[k] += v
	}
}
