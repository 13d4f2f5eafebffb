package datasets

import (
	"errors"
	"fmt"
)

// DataError reports a problem in outside input at a position. Line and Column
// are 1-based; zero means unknown. The pipeline maps it to exit code 3.
type DataError struct {
	File   string
	Line   int
	Column int    // 1-based field index in the record
	Field  string // column header, when known
	Msg    string
}

func (e *DataError) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d", pos, e.Line)
		if e.Column > 0 {
			pos = fmt.Sprintf("%s:%d", pos, e.Column)
		}
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: column %q: %s", pos, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", pos, e.Msg)
}

// IsDataError reports whether err (or one it wraps) is a *DataError.
func IsDataError(err error) bool {
	var de *DataError
	return errors.As(err, &de)
}
