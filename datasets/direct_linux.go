package datasets

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openDirect creates path for writing past the page cache (O_DIRECT), or
// the usual way where the file system refuses it; direct says which.
func openDirect(path string) (f *os.File, direct bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC|syscall.O_DIRECT, FileMode)
	if err == nil {
		return f, true, nil
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, FileMode)
	return f, false, err
}

// endDirect makes f's further writes go through the page cache.
func endDirect(f *os.File) error {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, flags&^unix.O_DIRECT)
	}
	return err
}
