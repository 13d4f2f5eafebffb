package datasets

import (
	"strings"
	"testing"
)

// Every table's keys sit in slots of their own, so a row's fields are found
// with one compare each.
func TestKeySlotsTellTablesKeysApart(t *testing.T) {
	for _, table := range []Table{Transactions.withAliases(nil), Customers, FeedbackTable} {
		seen := map[int]string{}
		for _, k := range table.Keys {
			if other, ok := seen[keySlot(k)]; ok {
				t.Errorf("%s: %s and %s share a slot", table.Name, k, other)
			}
			seen[keySlot(k)] = k
		}
	}
}

// A key finds its column wherever it was placed, keys sharing a slot
// included; unmapped, unknown and empty keys find none.
func TestKeySlotsFindEveryKey(t *testing.T) {
	keys := []string{"ab", "ab2", "axb", "a_b", "a-b", "ba", "customer_id", "ts"} // same length and ends: one slot
	if keySlot("axb") != keySlot("a_b") || keySlot("a_b") != keySlot("a-b") {
		t.Fatal("the test needs keys that share a slot")
	}
	idx := map[string]int{}
	for i, k := range keys[:len(keys)-1] {
		idx[k] = i
	}
	idx["ts"] = -1
	slots := newKeySlots(keys, idx)
	for k, want := range idx {
		if got := slots.column(k); got != want {
			t.Errorf("column(%q) = %d, want %d", k, got, want)
		}
	}
	for _, k := range []string{"", "nope", "a", "order_id"} {
		if got := slots.column(k); got != -1 {
			t.Errorf("column(%q) = %d, want -1", k, got)
		}
	}
}

// get returns the trimmed field of the key's column, and "" for unmapped
// and unknown keys and for records shorter than the header.
func TestRowReaderGet(t *testing.T) {
	header := []string{"order_id", " amount", "customer_id", "ts", "category"}
	idx := map[string]int{KeyOrderID: 0, KeyAmount: 1, KeyCustomerID: 2, KeyTS: 3, KeyCategory: 4, KeyChannel: -1}
	r := &rowReader{header: header, idx: idx, slots: newKeySlots(Transactions.Keys, idx)}
	for _, rec := range [][]string{
		{"O1", " 12.50 ", "c1", "2024-01-02", "\u00a0tea\t"},
		{"", "", "", "", ""},
		{"O2", "3"},
	} {
		r.rec = rec
		for _, k := range append(append([]string{}, Transactions.Keys...), "nope", "", "order") {
			want := ""
			if i, ok := idx[k]; ok && i >= 0 && i < len(rec) {
				want = strings.TrimSpace(rec[i])
			}
			if got := r.get(k); got != want {
				t.Errorf("get(%q) on %q = %q, want %q", k, rec, got, want)
			}
		}
	}
	r.rec = []string{"O1", " 12.50 ", "c1", "2024-01-02", "\u00a0tea\t"}
	if got := r.get(KeyAmount); got != "12.50" {
		t.Errorf("amount = %q", got)
	}
	if got := r.get(KeyCategory); got != "tea" {
		t.Errorf("category = %q", got)
	}
}

func FuzzTrimSpace(f *testing.F) {
	for _, s := range []string{"", " a ", "a", "\u00a0x\u0085", "x\x7f", "\tb\r\n", "é", "a\u2003"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	})
}
