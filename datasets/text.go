package datasets

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Text reads a text column stored as plain strings or as a
// dictionary of strings (as pqarrow reads a dictionary-typed column).
type Text struct {
	plain *array.String
	dict  *array.Dictionary
	words *array.String // the dictionary's values
}

// AsText returns a's accessor and whether a is text at all.
func AsText(a arrow.Array) (Text, bool) {
	switch c := a.(type) {
	case *array.String:
		return Text{plain: c}, true
	case *array.Dictionary:
		if w, ok := c.Dictionary().(*array.String); ok {
			return Text{dict: c, words: w}, true
		}
	}
	return Text{}, false
}

func (c Text) OK() bool { return c.plain != nil || c.dict != nil }

// Value returns row i's text ("" when null); it is valid while the batch is.
func (c Text) Value(i int) string {
	if c.plain != nil {
		return c.plain.Value(i)
	}
	if c.dict.IsNull(i) {
		return ""
	}
	return c.words.Value(c.dict.GetValueIndex(i))
}

func (c Text) IsValid(i int) bool {
	if c.plain != nil {
		return c.plain.IsValid(i)
	}
	return c.dict.IsValid(i)
}
