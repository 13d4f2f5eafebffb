package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// applyConfig fills every flag the user did not set on the command line from
// the environment (CHURN_<FLAG>, dashes as underscores) or else from the YAML
// config file (--config or CHURN_CONFIG; keys are flag names, - or _).
// Precedence: flag > environment > config file > default.
func applyConfig(cmd *cobra.Command) error {
	path, _ := cmd.Flags().GetString("config")
	if !cmd.Flags().Changed("config") {
		if v, ok := os.LookupEnv("CHURN_CONFIG"); ok {
			path = v
		}
	}
	file := map[string]any{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return usagef("config: %v", err)
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
			return usagef("config %s: %v", path, err)
		}
		known := map[string]bool{}
		cmd.Flags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		// Keys for other commands are allowed (one file serves all); unknown
		// keys anywhere are reported so typos do not pass silently.
		all := allFlagNames(cmd.Root())
		var unknown []string
		for k := range file {
			if !all[normKey(k)] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return usagef("config %s: unknown keys %s", path, strings.Join(unknown, ", "))
		}
	}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		env := "CHURN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = usagef("%s=%q: %v", env, v, e)
			}
			f.Changed = true
			return
		}
		for k, v := range file {
			if normKey(k) != f.Name {
				continue
			}
			s := yamlScalar(v)
			if e := f.Value.Set(s); e != nil {
				err = usagef("config key %s=%q: %v", k, s, e)
			}
			f.Changed = true
		}
	})
	return err
}

func normKey(k string) string { return strings.ReplaceAll(strings.ToLower(k), "_", "-") }

func yamlScalar(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + fmt.Sprint(x[k])
		}
		return strings.Join(parts, ",")
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func allFlagNames(root *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return names
}

// maxDays bounds the durations parseDays accepts: a hundred years.
const maxDays = 36525

// parseDays parses a duration in days: "90", "90d", "12w", at most maxDays.
func parseDays(in string) (int, error) {
	s := strings.TrimSpace(strings.ToLower(in))
	mult := 1
	switch {
	case strings.HasSuffix(s, "d"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "w"):
		s, mult = s[:len(s)-1], 7
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > maxDays/mult { // checked before multiplying: a huge count must not wrap round
		return 0, fmt.Errorf("%q: want a positive number of days up to %d (a hundred years), such as 90d or 12w", in, maxDays)
	}
	return n * mult, nil
}
