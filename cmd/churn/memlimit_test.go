package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"2GiB", 2 << 30}, {"1500MiB", 1500 << 20}, {"3G", 3 << 30}, {"512 MB", 512 << 20}, {"1.5gib", 3 << 29},
		{"4096", 4096}, {"64k", 64 << 10}, {"1TiB", 1 << 40}, {"10b", 10}} {
		got, err := parseBytes(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1G", "2 XB", "abc", "1e30G", "0", "0.5", "0.4b", "NaN", "nan GiB", "inf", "+Inf k"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) accepted", bad)
		}
	}
}

// --memory-limit sets the runtime's soft limit; off lifts it; a bad size
// is a usage error (exit 2).
func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if n, err := applyMemoryLimit("1500MiB"); err != nil || n != 1500<<20 || debug.SetMemoryLimit(-1) != 1500<<20 {
		t.Fatalf("1500MiB: %d, %v; runtime %d", n, err, debug.SetMemoryLimit(-1))
	}
	if n, err := applyMemoryLimit("off"); err != nil || n != math.MaxInt64 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("off: %d, %v", n, err)
	}
	_, err := applyMemoryLimit("lots")
	if _, ok := err.(usageError); !ok {
		t.Fatalf("a bad size gives %T %v, want a usage error", err, err)
	}
	if _, err := applyMemoryLimit("auto"); err != nil {
		t.Fatalf("auto: %v", err)
	}
}

// Any text either parses to a size of at least one byte that fits in an
// int64, or is refused.
func FuzzParseBytes(f *testing.F) {
	for _, seed := range []string{"2GiB", "1500MiB", "3G", "512 MB", "1.5gib", "4096", "0", "NaN", "1e30G", "0.5", "-1k"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if err == nil && n < 1 {
			t.Fatalf("parseBytes(%q) = %d", s, n)
		}
	})
}
