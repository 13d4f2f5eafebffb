//go:build unix

package offheap

import (
	"syscall"
	"unsafe"
)

// mapZeroed maps size zeroed bytes, private and anonymous.
func mapZeroed(size int) (unsafe.Pointer, func(), bool) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, false
	}
	return unsafe.Pointer(unsafe.SliceData(b)), func() { _ = syscall.Munmap(b) }, true
}

func floats(p unsafe.Pointer, n int) []float64 { return unsafe.Slice((*float64)(p), n) }
