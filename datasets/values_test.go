package datasets

import (
	"strings"
	"testing"
	"time"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		decimal byte
		want    int64
		err     string // substring of the error; "" for none
	}{
		// Plain decimals, rounding half away from zero beyond cents.
		{"12.34", '.', 1234, ""}, {"-5", '.', -500, ""}, {"0.5", '.', 50, ""}, {"+7.01", '.', 701, ""},
		{".25", '.', 25, ""}, {"3.", '.', 300, ""}, {"1.005", '.', 101, ""}, {"1.004", '.', 100, ""},
		{"-0.015", '.', -2, ""}, {"1000000", '.', 100000000, ""}, {"12.34", 0, 1234, ""},
		// Currency symbols and codes, before or after, with spaces.
		{"$3", '.', 300, ""}, {"¥1,234.50", '.', 123450, ""}, {"￥88", '.', 8800, ""}, {"€ 9.99", '.', 999, ""},
		{"£0.99", '.', 99, ""}, {"USD 1,000", '.', 100000, ""}, {"1,000 CNY", '.', 100000, ""}, {"RMB12.5", '.', 1250, ""},
		{"25元", '.', 2500, ""}, {"US$5", '.', 500, ""}, {"HK$ 1,200.00", '.', 120000, ""},
		// Negative forms: refunds.
		{"-$5.00", '.', -500, ""}, {"$-5.00", '.', -500, ""}, {"($5.00)", '.', -500, ""}, {"5.00-", '.', -500, ""},
		{"−3.50", '.', -350, ""}, {"(1,234.56)", '.', -123456, ""},
		// Thousands separators.
		{"1,234,567.89", '.', 123456789, ""}, {"1 234.5", '.', 123450, ""}, {"1'234.50", '.', 123450, ""},
		{"1\u00a0234.50", '.', 123450, ""}, {"12,345", '.', 1234500, ""},
		// Decimal comma (European Excel).
		{"1.234,56", ',', 123456, ""}, {"12,5", ',', 1250, ""}, {"-0,99 €", ',', -99, ""}, {"1 234,56", ',', 123456, ""},
		{"€1.234.567,8", ',', 123456780, ""},
		// Errors.
		{"", '.', 0, "empty"}, {"abc", '.', 0, "not a number"}, {"12x", '.', 0, "not a number"}, {"-", '.', 0, "not a number"},
		{".", '.', 0, "not a number"}, {"1.2.3", '.', 0, "decimal separator"}, {"99999999999999999999", '.', 0, "too large"},
		{"1,5", '.', 0, "decimal separator"}, {"1,23,456", '.', 0, "decimal separator"}, {"1.5", ',', 0, "decimal separator"},
		{"12 A", '.', 0, "not a number"}, {"$", '.', 0, "not a number"}, {"1e3", '.', 0, "not a number"},
	}
	for _, tc := range tests {
		got, err := ParseAmount(tc.in, tc.decimal)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseAmount(%q, %q) = %d, %v; want %d", tc.in, tc.decimal, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseAmount(%q, %q) = %d, %v; want an error saying %q", tc.in, tc.decimal, got, err, tc.err)
		}
	}
}

func TestParseTime(t *testing.T) {
	us := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	utc, dmy, mdy, cn := ValueOptions{}, ValueOptions{DateOrder: DateOrderDMY}, ValueOptions{DateOrder: DateOrderMDY}, ValueOptions{Location: shanghai}
	tests := []struct {
		in   string
		opt  ValueOptions
		want string // RFC 3339 instant, or "error: substring"
	}{
		{"2024-03-05", utc, "2024-03-05T00:00:00Z"},
		{"20240305", utc, "2024-03-05T00:00:00Z"},
		{"2024/03/05", utc, "2024-03-05T00:00:00Z"},
		{"2024.3.5", utc, "2024-03-05T00:00:00Z"},
		{"2024年3月5日", utc, "2024-03-05T00:00:00Z"},
		{"2024年3月5日 14:22", cn, "2024-03-05T06:22:00Z"},
		{"2024-03-05T14:22:10Z", utc, "2024-03-05T14:22:10Z"},
		{"2024-03-05T14:22:10+08:00", utc, "2024-03-05T06:22:10Z"},
		{"2024-03-05 14:22:10 +0800", utc, "2024-03-05T06:22:10Z"},
		{"2024-03-05T14:22:10-05", utc, "2024-03-05T19:22:10Z"},
		{"2024-03-05 14:22:10 UTC", cn, "2024-03-05T14:22:10Z"},
		{"2024-03-05 14:22:10", utc, "2024-03-05T14:22:10Z"},
		{"2024-03-05T14:22:10.5Z", utc, "2024-03-05T14:22:10.5Z"},
		{"2024-03-05T14:22:10.123456789Z", utc, "2024-03-05T14:22:10.123456Z"},
		{"2024-03-05 14:22", utc, "2024-03-05T14:22:00Z"},
		// Local times and dates take the configured zone; offsets win over it.
		{"2024-03-05 14:22:10", cn, "2024-03-05T06:22:10Z"},
		{"2024-03-05", cn, "2024-03-04T16:00:00Z"},
		{"2024-03-05T14:22:10Z", cn, "2024-03-05T14:22:10Z"},
		// Day-first / month-first: by config, or when unambiguous.
		{"05/03/2024", dmy, "2024-03-05T00:00:00Z"},
		{"05/03/2024", mdy, "2024-05-03T00:00:00Z"},
		{"25/12/2024", utc, "2024-12-25T00:00:00Z"},
		{"12/25/2024", utc, "2024-12-25T00:00:00Z"},
		{"07/07/2024", utc, "2024-07-07T00:00:00Z"},
		{"5.3.2024 14:00", dmy, "2024-03-05T14:00:00Z"},
		{"3/5/2024 2:15 PM", mdy, "2024-03-05T14:15:00Z"},
		{"3/5/2024 12:05 AM", mdy, "2024-03-05T00:05:00Z"},
		{"05/03/2024", utc, "error: date_order"},
		{"25/12/2024", mdy, "error: month 25"},
		// English month names (Magento, Excel).
		{"Mar 5, 2024 2:22:10 PM", utc, "2024-03-05T14:22:10Z"},
		{"Mar 5, 2024", cn, "2024-03-04T16:00:00Z"},
		{"5 March 2024 14:22", utc, "2024-03-05T14:22:00Z"},
		{"05-Mar-2024", utc, "2024-03-05T00:00:00Z"},
		{"Tue, 05 Mar 2024 14:22:10 +0800", utc, "2024-03-05T06:22:10Z"},
		{"Mar 32, 2024", utc, "error: month name"},
		// Unix epochs.
		{"1709648530", utc, "2024-03-05T14:22:10Z"},
		{"1709648530123", utc, "2024-03-05T14:22:10.123Z"},
		// Errors.
		{"", utc, "error: empty"}, {"yesterday", utc, "error: want ISO 8601"}, {"2024-13-01", utc, "error: month 13"},
		{"2023-02-29", utc, "error: day 29"}, {"0000-01-01", utc, "error: year 0"}, {"2024-03-05 25:00", utc, "error: time"},
		{"2024-03-05 14:22 +25:00", utc, "error: time"}, {"2024-03-05 13:00 PM", utc, "error: time"}, {"12345", utc, "error: digits"},
		{"05/03/24", dmy, "error: want ISO 8601"},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, tc.opt)
		if msg, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("ParseTime(%q) = %d, %v; want an error saying %q", tc.in, got, err, msg)
			}
			continue
		}
		if err != nil || got != us(tc.want) {
			t.Errorf("ParseTime(%q) = %s, %v; want %s", tc.in, time.UnixMicro(got).UTC().Format(time.RFC3339Nano), err, tc.want)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.34", "-0.005", "+1", ".5", "1e3", "", "¥1,234.50", "(1.234,56 €)", "1'000", "US$-5"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, point bool) {
		dec := byte('.')
		if !point {
			dec = ','
		}
		c, err := ParseAmount(s, dec)
		if err != nil {
			return
		}
		// A parsed amount written back plainly must parse to itself.
		text := FormatCents(c)
		if dec == ',' {
			text = strings.Replace(text, ".", ",", 1)
		}
		back, err := ParseAmount(text, dec)
		if err != nil || back != c {
			t.Fatalf("ParseAmount(%q) = %d; %q gave %d, %v", s, c, text, back, err)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-03-05", "20240305", "2024-03-05T14:22:10+08:00", "2024-03-05 14:22", "3/5/2024 2:15 PM", "1709648530", "2024年3月5日"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, order uint8) {
		opt := ValueOptions{DateOrder: []string{"", DateOrderDMY, DateOrderMDY}[order%3]}
		us, err := ParseTime(s, opt)
		if err != nil {
			return
		}
		if y := time.UnixMicro(us).UTC().Year(); y < 1899 || y > 10000 {
			t.Fatalf("ParseTime(%q) gave year %d", s, y)
		}
		// An accepted instant written as RFC 3339 parses to itself.
		text := time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
		if back, err := ParseTime(text, opt); err != nil || back != us {
			t.Fatalf("ParseTime(%q) = %d; %s gave %d, %v", s, us, text, back, err)
		}
	})
}

// FuzzFastPaths checks that the digit-by-digit readers of the common
// shapes agree with the general parsers wherever they accept an input.
func FuzzFastPaths(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "1900-01-01T00:00:00Z", "2025-12-31T23:59:59Z", "2024-13-01", "2024-04-31T10:00:00Z",
		"12.345", "-0.005", ".5", "5.", "-", "1,5", "999999999999999999", "00012"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, places uint8) {
		if us, ok := fastISO(s, nil); ok {
			want, err := parseTime(s, ValueOptions{})
			if err != nil || want != us {
				t.Fatalf("fastISO(%q) = %d, general parser %d, %v", s, us, want, err)
			}
		}
		for _, dec := range []byte{'.', ','} {
			p := int(places % 10)
			if v, ok := fastDecimal(s, dec, p); ok {
				want, err := parseDecimal(s, dec, p)
				if err != nil || want != v {
					t.Fatalf("fastDecimal(%q, %q, %d) = %d, general parser %d, %v", s, dec, p, v, want, err)
				}
			}
		}
	})
}

func TestFastPathsMatch(t *testing.T) {
	// Every day of 1900..2100 at two times, both ways.
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() <= 2100; d = d.AddDate(0, 0, 1) {
		for _, s := range []string{d.Format("2006-01-02"), d.Add(13*time.Hour + 7*time.Minute + 9*time.Second).Format("2006-01-02T15:04:05Z")} {
			us, ok := fastISO(s, nil)
			want, err := parseTime(s, ValueOptions{})
			if !ok || err != nil || us != want {
				t.Fatalf("%s: fast %d %v, general %d %v", s, us, ok, want, err)
			}
		}
	}
	for y := 1900; y <= 2100; y++ { // the month lengths both parsers check days against
		for m := 1; m <= 12; m++ {
			if got, want := civilDaysIn(y, m), time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day(); got != want {
				t.Fatalf("%04d-%02d has %d days, not %d", y, m, want, got)
			}
		}
	}
	if _, ok := fastISO("2024-01-02", time.FixedZone("", 3600)); ok {
		t.Fatal("a plain date in another zone took the UTC fast path")
	}
}
