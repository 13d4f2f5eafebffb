//go:build unix

package datasets

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes flock(LOCK_EX) on f without waiting; false when another
// process (or another open file in this one) holds it.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
