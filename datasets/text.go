package datasets

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Text reads a text column stored as plain strings or as a
// dictionary of strings (OpenWarehouseBucketDict).
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

// Codes returns the dictionary indices of c's rows and the dictionary's
// words when c is dictionary-encoded with int32 indices, else nil: row i's
// text is words.Value(codes[i]) where c.IsValid(i), as Value gives it.
func (c Text) Codes() ([]int32, *array.String) {
	if c.dict == nil {
		return nil, nil
	}
	ix, ok := c.dict.Indices().(*array.Int32)
	if !ok {
		return nil, nil
	}
	return ix.Int32Values(), c.words
}

// Repeats tells, for the rows of a sorted text column read in order
// (some may be skipped), whether a row holds the text of the row looked at
// before it, by dictionary code and without comparing strings. It answers
// false when it cannot tell (plain strings, nulls): the caller compares.
type Repeats struct {
	codes []int32
	col   Text
	last  int32 // the code of the row looked at last, −1 for none
}

// Repeats starts a Repeats over c's rows.
func (c Text) Repeats() Repeats {
	codes, _ := c.Codes()
	return Repeats{codes: codes, col: c, last: -1}
}

// Same reports whether row i has the code of the row looked at last, and
// makes row i that row.
func (r *Repeats) Same(i int) bool {
	if r.codes == nil || !r.col.IsValid(i) {
		r.last = -1
		return false
	}
	c := r.codes[i]
	same := c == r.last
	r.last = c
	return same
}
