//go:build !linux

package datasets

import "errors"

// exchange is not available off Linux; CommitFolder falls back to two renames.
func exchange(a, b string) error { return errors.ErrUnsupported }
