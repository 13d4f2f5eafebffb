package offheap

import (
	"math"
	"runtime/debug"
	"testing"
)

// A large buffer is zero, writable to its last element, and lowers the
// memory limit by its size while it lives; a small one is an ordinary
// slice. Freeing twice is harmless.
func TestFloats(t *testing.T) {
	small, freeSmall := Floats(1000)
	if len(small) != 1000 || cap(small) != 1000 {
		t.Fatalf("small buffer: len %d cap %d", len(small), cap(small))
	}
	freeSmall()

	prev := debug.SetMemoryLimit(8 << 30)
	defer debug.SetMemoryLimit(prev)
	n := int(minBytes.Load())/8 + 12345
	big, free := Floats(n)
	if len(big) != n {
		t.Fatalf("len %d, want %d", len(big), n)
	}
	if got := debug.SetMemoryLimit(-1); got != 8<<30-int64(n*8) {
		t.Errorf("memory limit %d while the buffer lives, want %d", got, 8<<30-int64(n*8))
	}
	for i := 0; i < n; i += 4096 {
		if big[i] != 0 {
			t.Fatalf("big[%d] = %v, want 0", i, big[i])
		}
		big[i] = float64(i)
	}
	big[n-1] = math.Pi
	sum := 0.0
	for i := 0; i < n; i += 4096 {
		sum += big[i]
	}
	if sum == 0 || big[n-1] != math.Pi {
		t.Error("writes did not stick")
	}
	free()
	free()
	if got := debug.SetMemoryLimit(-1); got != 8<<30 {
		t.Errorf("memory limit %d after free, want %d", got, int64(8<<30))
	}

	// Without a limit none is set.
	debug.SetMemoryLimit(math.MaxInt64)
	_, free = Floats(n)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("a buffer set a memory limit: %d", got)
	}
	free()
}
