package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// applyMemoryLimit sets the Go runtime's soft memory limit from
// --memory-limit: a size ("2GiB", "1500MiB", "3G", bytes), "off", or
// "auto" (the default): GOMEMLIMIT when set, else 90% of the container's
// cgroup memory limit, else 90% of the machine's memory. Near the limit the garbage collector runs
// more often instead of letting the heap grow to twice the live data, so a
// nightly job in a 4 GiB container is not killed for memory it has already
// released. It returns the limit in force (math.MaxInt64: none).
func applyMemoryLimit(v string) (int64, error) {
	switch s := strings.ToLower(strings.TrimSpace(v)); s {
	case "", "auto":
		return memlimit.Set(memlimit.WithRatio(0.9), memlimit.WithProvider(memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)),
			memlimit.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	case "off", "none", "0":
		debug.SetMemoryLimit(math.MaxInt64)
		return math.MaxInt64, nil
	default:
		n, err := parseBytes(s)
		if err != nil {
			return 0, usagef("--memory-limit %v", err)
		}
		debug.SetMemoryLimit(n)
		return n, nil
	}
}

// parseBytes parses a size: a number of bytes with an optional unit, B,
// K/KB/KiB, M/MB/MiB, G/GB/GiB or T/TB/TiB (all powers of 1024, as the Go
// runtime's GOMEMLIMIT reads them).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	num := strings.TrimRight(t, "kmgtib ")
	unit := strings.TrimSpace(t[len(num):])
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20,
		"g": 30, "gb": 30, "gib": 30, "t": 40, "tb": 40, "tib": 40}
	sh, ok := shift[unit]
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	n := f * math.Exp2(float64(sh))
	if !ok || err != nil || !(n >= 1 && n < math.MaxInt64) { // NaN and infinities fail too
		return 0, fmt.Errorf("%q: want a size such as 2GiB, 1500MiB or off", s)
	}
	return int64(n), nil
}
