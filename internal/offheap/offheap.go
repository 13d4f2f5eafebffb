// Package offheap hands out large zeroed buffers mapped straight from the
// kernel instead of the Go heap, freed explicitly.
//
// make zeroes a large slice before returning it, on the calling goroutine,
// whenever the heap reuses memory it held before: in churn run, train's
// design matrix (0.93 GB at a million customers) came after the feature
// stage's buffers, and make spent 3.2 s of one core clearing it, nearly all
// of it the kernel faulting in the pages the runtime had given back, while
// the other core waited. A fresh anonymous mapping is zero already: its
// pages are faulted in by whichever goroutines first write them.
package offheap

import (
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// minBytes is the smallest buffer mapped: below it make's zeroing is short.
var minBytes atomic.Int64

func init() { minBytes.Store(64 << 20) }

// SetMinBytes maps every buffer of at least n bytes from now on, and
// returns what restores the threshold: tests set it low to take small
// data through the mapped path.
func SetMinBytes(n int64) (restore func()) {
	prev := minBytes.Swap(n)
	return func() { minBytes.Store(prev) }
}

// limitMu serialises the memory limit's adjustments.
var limitMu sync.Mutex

// Floats returns n zeroed float64s and the function that frees them; after
// free, no slice of them may be used. Small buffers, and any the kernel
// refuses to map, come from make (free then does nothing). While a mapped
// buffer lives, the Go runtime's memory limit, if one is set, is lowered by
// its size, since the runtime does not count it.
func Floats(n int) ([]float64, func()) {
	size := n * 8
	if size == 0 || int64(size) < minBytes.Load() {
		return make([]float64, n), func() {}
	}
	buf, unmap, ok := mapZeroed(size)
	if !ok {
		return make([]float64, n), func() {}
	}
	adjustLimit(-int64(size))
	var once sync.Once
	return floats(buf, n), func() {
		once.Do(func() {
			unmap()
			adjustLimit(int64(size))
		})
	}
}

// adjustLimit moves the runtime's memory limit by delta bytes, unless none
// is set.
func adjustLimit(delta int64) {
	limitMu.Lock()
	defer limitMu.Unlock()
	if cur := debug.SetMemoryLimit(-1); cur != math.MaxInt64 {
		debug.SetMemoryLimit(max(cur+delta, 1))
	}
}
