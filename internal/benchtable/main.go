// Command benchtable turns `go test -bench` output (stdin) into the Markdown
// table of docs/BENCHMARKS.md (stdout).
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	pkg, cpu := "", ""
	var rows []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: github.com/churn-dev/churn/")
		case strings.HasPrefix(line, "cpu: "):
			cpu = strings.TrimSpace(strings.TrimPrefix(line, "cpu: "))
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			vals := map[string]string{}
			for i := 2; i+1 < len(f); i += 2 {
				vals[f[i+1]] = f[i]
			}
			name := strings.TrimPrefix(f[0], "Benchmark")
			if i := strings.LastIndex(name, "-"); i > 0 {
				name = name[:i]
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", pkg, name, vals["ns/op"], vals["B/op"], vals["allocs/op"], extra(vals)))
		}
	}
	fmt.Println("# Benchmarks")
	fmt.Println()
	fmt.Println("Written by `make bench` (go test -bench, one run each). Speed goals live here, never in tests.")
	fmt.Println()
	if cpu != "" {
		fmt.Printf("Machine: %s\n\n", cpu)
	}
	fmt.Println("| package | benchmark | ns/op | B/op | allocs/op | other |")
	fmt.Println("|---|---|---:|---:|---:|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
}

func extra(vals map[string]string) string {
	var parts []string
	for k, v := range vals {
		if k != "ns/op" && k != "B/op" && k != "allocs/op" {
			parts = append(parts, v+" "+k)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
