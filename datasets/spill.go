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
	s.row = appendSpill(s.row[:0], t)
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

// appendSpill appends t to dst: its numbers as varints, then its seven
// strings, each as a length and bytes.
func appendSpill(dst []byte, t *Transaction) []byte {
	for _, v := range [...]int64{t.TS, t.AmountCents, t.DiscountCents, t.UnitPriceCents, t.PointsEarned, t.PointsRedeemed, int64(t.Quantity)} {
		dst = binary.AppendVarint(dst, v)
	}
	for _, s := range [...]string{t.CustomerID, t.OrderID, t.ProductID, t.Category, t.Channel, t.LineID, t.LineKind} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

var errSpillCorrupt = errors.New("datasets: spill file is damaged")

// nextSpill decodes the row at the start of p into t and returns the rest.
// t's strings are views of p: valid while p is.
func nextSpill(p []byte, t *Transaction) ([]byte, error) {
	var nums [7]int64
	for i := range nums {
		v, n := binary.Varint(p)
		if n <= 0 {
			return nil, errSpillCorrupt
		}
		nums[i], p = v, p[n:]
	}
	var strs [7]string
	for i := range strs {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return nil, errSpillCorrupt
		}
		p = p[n:]
		if l > 0 {
			strs[i] = unsafe.String(&p[0], int(l))
		}
		p = p[l:]
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
