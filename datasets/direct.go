package datasets

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Large files written once and not read back by the run (a list's CSV and
// scores) are written past the page cache (O_DIRECT) from buffers of whole
// blocks. They are synced before they count anyway, and on a virtual
// machine a page cache page is often memory the host must first hand back
// to the guest: writing a 270 MB list through the page cache cost up to a
// second of kernel CPU, direct writes a few hundredths of it
// (docs/BENCHMARKS.md). A block is written by a goroutine of its own while
// the next one fills, so the disk's time overlaps the caller's.

const (
	directAlign = 4096    // file offsets, lengths and buffer addresses of direct writes
	directBlock = 1 << 20 // bytes a direct write takes at a time
)

// directBufs are the block buffers, reused: a fresh one is fresh pages.
var directBufs = sync.Pool{New: func() any {
	b := make([]byte, directBlock+directAlign)
	off := (directAlign - int(uintptr(unsafe.Pointer(&b[0]))%directAlign)) % directAlign
	b = b[off : off : off+directBlock]
	return &b
}}

// directFile writes a new file in whole aligned blocks with O_DIRECT where
// the file system allows it, else as any file; finish writes the tail
// through the page cache.
type directFile struct {
	f      *os.File
	direct bool
	blocks [2]*[]byte // from directBufs (direct only): one fills while the other is written
	buf    []byte     // the block being filled, blocks[cur]
	cur    int
	// A block being written: done takes its result. A write error stays in
	// err and fails every later call.
	done chan error
	busy bool
	err  error
}

func createDirect(path string) (*directFile, error) {
	f, direct, err := openDirect(path)
	if err != nil {
		return nil, err
	}
	d := &directFile{f: f, direct: direct}
	if direct {
		d.blocks = [2]*[]byte{directBufs.Get().(*[]byte), directBufs.Get().(*[]byte)}
		d.buf = (*d.blocks[0])[:0]
		d.done = make(chan error, 1)
	}
	return d, nil
}

func (d *directFile) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if !d.direct {
		return d.f.Write(p)
	}
	n := 0
	for len(p) > 0 {
		k := copy(d.buf[len(d.buf):cap(d.buf)], p)
		d.buf, p, n = d.buf[:len(d.buf)+k], p[k:], n+k
		if len(d.buf) == cap(d.buf) {
			if err := d.flushBlock(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flushBlock hands the full block to a goroutine that writes it, once the
// block before it is written, and goes on filling the other one.
func (d *directFile) flushBlock() error {
	if err := d.wait(); err != nil {
		return err
	}
	full := d.buf
	d.busy = true
	go func() { d.done <- d.writeBlock(full) }()
	d.cur ^= 1
	d.buf = (*d.blocks[d.cur])[:0]
	return nil
}

// writeBlock writes a full block. A file system that takes O_DIRECT at
// open but not the block's alignment (EINVAL) gets it through the page
// cache, and every later block too.
func (d *directFile) writeBlock(b []byte) error {
	_, err := d.f.Write(b)
	if errors.Is(err, syscall.EINVAL) {
		if err = endDirect(d.f); err == nil {
			_, err = d.f.Write(b)
		}
	}
	return err
}

// wait waits for the block being written, if any.
func (d *directFile) wait() error {
	if d.busy {
		d.busy = false
		if err := <-d.done; err != nil && d.err == nil {
			d.err = err
		}
	}
	return d.err
}

// finish writes the bytes not yet written (a part block) the usual way and
// gives the buffers back; call it once, before Sync.
func (d *directFile) finish() error {
	if d.blocks[0] == nil {
		return nil
	}
	err := d.wait()
	if err == nil && len(d.buf) > 0 {
		if err = endDirect(d.f); err == nil {
			_, err = d.f.Write(d.buf)
		}
	}
	for _, b := range d.blocks {
		directBufs.Put(b)
	}
	d.blocks, d.buf, d.direct = [2]*[]byte{}, nil, false
	return err
}
