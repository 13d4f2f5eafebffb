package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockName is the lock file of a work directory.
const LockName = ".churn.lock"

// ErrLocked is returned (wrapped) when another process holds a work
// directory's lock.
var ErrLocked = errors.New("another churn process holds the work directory's lock")

// LockWorkdir takes an exclusive advisory lock on workdir (flock on
// <workdir>/.churn.lock) without waiting, so two writers cannot interleave.
// The lock dies with the process, so a crash never leaves it stale. The
// returned function releases it.
func LockWorkdir(workdir string) (func(), error) {
	if err := os.MkdirAll(workdir, DirMode); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	path := filepath.Join(workdir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("datasets: lock %s: %w", path, err)
	}
	if !held {
		owner, _ := os.ReadFile(path)
		f.Close()
		if o := strings.TrimSpace(string(owner)); o != "" {
			return nil, fmt.Errorf("datasets: %s (%s): %w", path, o, ErrLocked)
		}
		return nil, fmt.Errorf("datasets: %s: %w", path, ErrLocked)
	}
	// Say who holds it, for the next process's message.
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "held by pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	}
	return func() {
		f.Truncate(0) // no holder any more: a finished command leaves the directory as it found it
		unlock(f)
		f.Close()
	}, nil
}
