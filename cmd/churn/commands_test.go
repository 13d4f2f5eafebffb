package main

import (
	"testing"
	"time"
)

func TestRelativeDay(t *testing.T) {
	now := time.Date(2026, 1, 1, 18, 30, 0, 0, time.UTC) // 02:30 on Jan 2 in Shanghai
	for _, c := range []struct {
		word, tz, want string
		ok             bool
	}{{"yesterday", "UTC", "2025-12-31", true}, {"today", "UTC", "2026-01-01", true}, {"yesterday", "Asia/Shanghai", "2026-01-01", true},
		{"today", "", "2026-01-01", true}, {"2025-12-31", "UTC", "", false}} {
		got, ok, err := relativeDay(c.word, c.tz, now)
		if err != nil || ok != c.ok || ok && got.Format(time.DateOnly) != c.want {
			t.Errorf("relativeDay(%q, %q) = %v, %v, %v; want %s", c.word, c.tz, got, ok, err, c.want)
		}
	}
}
