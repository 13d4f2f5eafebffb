package datasets

import (
	"strings"
	"testing"
)

// Every table's keys have slots of their own, so rows are read without
// scanning the mapped columns.
func TestKeySlotsTellTablesKeysApart(t *testing.T) {
	for _, table := range []Table{Transactions.withAliases(nil), Customers, FeedbackTable} {
		if keySlotTable(table.Keys, map[string]int{}) == nil {
			t.Errorf("%s: two keys share a slot", table.Name)
		}
	}
}

// get through the slots returns what the scan of the mapped columns does,
// for mapped, unmapped and unknown keys, and short records.
func TestRowReaderGetMatchesScan(t *testing.T) {
	header := []string{"order_id", " amount", "customer_id", "ts", "category"}
	idx := map[string]int{KeyOrderID: 0, KeyAmount: 1, KeyCustomerID: 2, KeyTS: 3, KeyCategory: 4, KeyChannel: -1}
	r := &rowReader{header: header, idx: idx}
	for _, k := range Transactions.Keys {
		if i, ok := idx[k]; ok && i >= 0 {
			r.present = append(r.present, keyCol{k, i})
		}
	}
	r.slots = keySlotTable(Transactions.Keys, idx)
	if r.slots == nil {
		t.Fatal("no slot table")
	}
	scan := &rowReader{present: r.present}
	for _, rec := range [][]string{
		{"O1", " 12.50 ", "c1", "2024-01-02", "\u00a0tea\t"},
		{"", "", "", "", ""},
		{"O2", "3"},
	} {
		r.rec, scan.rec = rec, rec
		for _, k := range append(append([]string{}, Transactions.Keys...), "nope", "", "order") {
			if got, want := r.get(k), scan.get(k); got != want {
				t.Errorf("get(%q) on %q = %q, the scan gives %q", k, rec, got, want)
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
