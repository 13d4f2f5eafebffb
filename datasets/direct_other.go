//go:build !linux

package datasets

import "os"

func openDirect(path string) (f *os.File, direct bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, FileMode)
	return f, false, err
}

func endDirect(*os.File) error { return nil }
