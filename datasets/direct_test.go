package datasets

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A file written through directFile in writes of any size holds exactly
// the bytes written: whole blocks, a part block at the end or none, an
// empty file; and its sum (createSyncedDirect) is theirs.
func TestDirectFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, directAlign - 1, directAlign, directBlock - 1, directBlock, directBlock + 1, 3*directBlock + 12345} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(rng.IntN(256))
		}
		path := filepath.Join(dir, "f.bin")
		f, finish, err := createSyncedDirect(path)
		if err != nil {
			t.Fatal(err)
		}
		for p := want; len(p) > 0; {
			k := min(len(p), 1+rng.IntN(3*directBlock/2)) // writes across block ends, and whole blocks at once
			if n, err := f.Write(p[:k]); n != k || err != nil {
				t.Fatalf("size %d: wrote %d of %d: %v", size, n, k, err)
			}
			p = p[k:]
		}
		if err := finish(nil); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: read back %d bytes, not the %d written", size, len(got), len(want))
		}
		n, sum, ok := peekSum(path)
		if !ok || n != int64(size) || sum != sumOf(want) {
			t.Fatalf("size %d: remembered %d bytes %s (%v)", size, n, sum, ok)
		}
	}
}

func sumOf(b []byte) string {
	s := newFileSum()
	s.Write(b)
	return s.hex()
}

// A file system that refuses a direct write's alignment (EINVAL) gets the
// block, and the rest, through the page cache. The test makes the refusal
// with a block one byte off its alignment.
func TestDirectFileFallsBackOnEINVAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	d, err := createDirect(path)
	if err != nil {
		t.Fatal(err)
	}
	if !d.direct {
		t.Skip("the file system of the test's folder takes no O_DIRECT")
	}
	odd := make([]byte, directBlock+1)[1:1]
	d.buf = odd
	want := bytes.Repeat([]byte("0123456789abcdef"), directBlock/16*2+5)
	if n, err := d.Write(want); n != len(want) || err != nil {
		t.Fatalf("wrote %d of %d: %v", n, len(want), err)
	}
	if err := d.finish(); err != nil {
		t.Fatal(err)
	}
	d.f.Close()
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want %d: %v", len(got), len(want), err)
	}
}

// A failed block write fails the writes after it and finish, and the
// caller's finish (createSyncedDirect) reports it.
func TestDirectFileWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	f, finish, err := createSyncedDirect(path)
	if err != nil {
		t.Fatal(err)
	}
	f.f.Close() // every write to the file fails from here on
	block := make([]byte, directBlock)
	var werr error
	for range 3 {
		if _, werr = f.Write(block); werr != nil {
			break
		}
	}
	if err := finish(nil); err == nil || (werr == nil && !errors.Is(err, os.ErrClosed)) {
		t.Fatalf("wrote to a closed file: write %v, finish %v", werr, err)
	}
}
