package datasets

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// spillFile is one bucket's queued rows on disk, in arrival order, in
// the spill encoding (appendSpill). Appends hold mu.
type spillFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
	w    *bufio.Writer
	size int    // buffer size
	row  []byte // appendRow's scratch
}

// append writes encoded rows.
func (s *spillFile) append(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(p)
}

// appendRow encodes and writes one row (the row-by-row readers' path).
func (s *spillFile) appendRow(t *Transaction) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.row = appendSpill(s.row[:0], t, nil) // t's strings may be reused: nothing refers to the row before
	return s.write(s.row)
}

// write writes p, opening the file on first use; the caller holds mu.
func (s *spillFile) write(p []byte) error {
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, FileMode)
		if err != nil {
			return fmt.Errorf("datasets: spill: %w", err)
		}
		s.f, s.w = f, bufio.NewWriterSize(f, s.size)
	}
	if _, err := s.w.Write(p); err != nil {
		return fmt.Errorf("datasets: spill %s: %w", s.path, err)
	}
	return nil
}

// finish flushes and closes the file; the rows stay readable at path.
func (s *spillFile) finish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f, s.w = nil, nil
	if err != nil {
		return fmt.Errorf("datasets: spill %s: %w", s.path, err)
	}
	return nil
}

// Flags of a spilled row: which of its fields repeat those of the row
// before it in the same buffer (the lines of an order share the time,
// customer and order id, and often the category and channel).
const (
	spillSameTS   = 1 << iota
	spillSameCust // then order, product, category, channel, line id, line kind: one bit each
)

// appendSpill appends t to dst: a flags byte, its numbers as varints, then
// its seven strings, each as a length and bytes. The time and strings equal
// to prev's (the row before t in dst; nil: none) are left out and flagged.
func appendSpill(dst []byte, t, prev *Transaction) []byte {
	strs := [...]string{t.CustomerID, t.OrderID, t.ProductID, t.Category, t.Channel, t.LineID, t.LineKind}
	var flags byte
	if prev != nil {
		if t.TS == prev.TS {
			flags |= spillSameTS
		}
		for i, p := range [...]string{prev.CustomerID, prev.OrderID, prev.ProductID, prev.Category, prev.Channel, prev.LineID, prev.LineKind} {
			if strs[i] == p {
				flags |= spillSameCust << i
			}
		}
	}
	dst = append(dst, flags)
	if flags&spillSameTS == 0 {
		dst = binary.AppendVarint(dst, t.TS)
	}
	for _, v := range [...]int64{t.AmountCents, t.DiscountCents, t.UnitPriceCents, t.PointsEarned, t.PointsRedeemed, int64(t.Quantity)} {
		dst = binary.AppendVarint(dst, v)
	}
	for i, s := range strs {
		if flags&(spillSameCust<<i) == 0 {
			dst = appendSpillString(dst, s)
		}
	}
	return dst
}

// appendSpillString appends s to dst as its length (a uvarint) and bytes.
func appendSpillString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// nextSpillString decodes the string at the start of p (appendSpillString's
// form) and returns it, a view of p, with the rest of p.
func nextSpillString(p []byte) (string, []byte, error) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return "", nil, errSpillCorrupt
	}
	p = p[n:]
	if l == 0 {
		return "", p, nil
	}
	return unsafe.String(&p[0], int(l)), p[l:], nil
}

var errSpillCorrupt = errors.New("datasets: spill file is damaged")

// nextSpill decodes the row at the start of p into t, which holds the row
// before it (zero before the first), and returns the rest. t's strings are
// views of p: valid while p is.
func nextSpill(p []byte, t *Transaction) ([]byte, error) {
	if len(p) == 0 {
		return nil, errSpillCorrupt
	}
	flags := p[0]
	p = p[1:]
	var nums [7]int64
	nums[0] = t.TS
	for i := range nums {
		if i == 0 && flags&spillSameTS != 0 {
			continue
		}
		v, n := binary.Varint(p)
		if n <= 0 {
			return nil, errSpillCorrupt
		}
		nums[i], p = v, p[n:]
	}
	strs := [...]string{t.CustomerID, t.OrderID, t.ProductID, t.Category, t.Channel, t.LineID, t.LineKind}
	for i := range strs {
		if flags&(spillSameCust<<i) != 0 {
			continue
		}
		var err error
		if strs[i], p, err = nextSpillString(p); err != nil {
			return nil, err
		}
	}
	*t = Transaction{TS: nums[0], AmountCents: nums[1], DiscountCents: nums[2], UnitPriceCents: nums[3], PointsEarned: nums[4],
		PointsRedeemed: nums[5], Quantity: int32(nums[6]), CustomerID: strs[0], OrderID: strs[1], ProductID: strs[2],
		Category: strs[3], Channel: strs[4], LineID: strs[5], LineKind: strs[6]}
	return p, nil
}

// readSpill calls fn with every row of a finished spill file, in order. The
// rows' strings are views of the file's bytes, valid during fn only.
func readSpill(path string, fn func(t *Transaction)) error {
	p, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a bucket without new rows
	}
	if err != nil {
		return fmt.Errorf("datasets: spill: %w", err)
	}
	var t Transaction
	for len(p) > 0 {
		if p, err = nextSpill(p, &t); err != nil {
			return fmt.Errorf("%w: %s", err, filepath.Base(path))
		}
		fn(&t)
	}
	return nil
}
