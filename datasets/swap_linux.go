package datasets

import "golang.org/x/sys/unix"

// exchange atomically swaps the folders at a and b (renameat2 with
// RENAME_EXCHANGE): at every instant each path names a complete folder, so
// a crash can never leave a committed folder missing.
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
