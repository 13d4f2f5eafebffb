package datasets

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ValueOptions says how to read the dates and amounts of an export that do
// not describe themselves.
type ValueOptions struct {
	// Location is the time zone of timestamps without an offset and of plain
	// dates (midnight local); nil means UTC. Values with an offset keep it.
	Location *time.Location
	// DateOrder is the order of slashed or dotted dates with the year last:
	// "dmy" (05/03/2024 is 5 March) or "mdy" (March 5). Empty accepts only
	// dates whose order is unambiguous (a field above 12, or day = month) and
	// rejects the rest, rather than guess.
	DateOrder string
	// Decimal is the decimal separator of amounts, '.' or ','; 0 means '.'.
	// The other one, spaces and apostrophes may group thousands.
	Decimal byte
}

// Date orders for ValueOptions.DateOrder.
const (
	DateOrderDMY = "dmy"
	DateOrderMDY = "mdy"
)

// ParseTime parses a timestamp as shops, ERPs and spreadsheets write it and
// returns microseconds since the epoch, UTC:
//   - ISO 8601 dates and times, with or without T, seconds, fractions and an
//     offset (Z, +08:00, +0800, +08, UTC): 2024-03-05, 2024-03-05T14:22:10Z,
//     2024-03-05 14:22:10.5 +08:00;
//   - YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD and 2024年3月5日, with or without a time;
//   - DD/MM/YYYY or MM/DD/YYYY (also with dots or dashes) by opt.DateOrder,
//     and a 12-hour clock with AM/PM;
//   - Unix epoch seconds (9–10 digits) and milliseconds (12–13 digits).
func ParseTime(s string, opt ValueOptions) (int64, error) {
	if us, ok := fastISO(s, opt.Location); ok {
		return us, nil
	}
	return parseTime(s, opt)
}

// fastISO parses the two shapes most exports write, 2024-03-05 (in loc,
// when that is UTC) and 2024-03-05T14:22:10Z, digit by digit; ok is false
// for anything else, which the general parser then reads (it gives the
// same value for these shapes).
func fastISO(s string, loc *time.Location) (us int64, ok bool) {
	n := len(s)
	if n != 10 && n != 20 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	num := func(i, j int) (int, bool) {
		v := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	m, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	if !ok1 || !ok2 || !ok3 || y < 1900 || m < 1 || m > 12 || d < 1 || d > civilDaysIn(y, m) {
		return 0, false
	}
	var hh, mm, ss int
	if n == 20 {
		if s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
			return 0, false
		}
		var ok4, ok5, ok6 bool
		hh, ok4 = num(11, 13)
		mm, ok5 = num(14, 16)
		ss, ok6 = num(17, 19)
		if !ok4 || !ok5 || !ok6 || hh > 23 || mm > 59 || ss > 59 {
			return 0, false
		}
	} else if loc != nil && loc != time.UTC {
		return 0, false
	}
	secs := daysFromCivil(y, m, d)*86400 + int64(hh*3600+mm*60+ss)
	return secs * 1_000_000, true
}

// civilDaysIn is the number of days of month m of year y (Gregorian).
func civilDaysIn(y, m int) int {
	if m == 2 {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (m+m/8)%2
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d (Howard
// Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func parseTime(s string, opt ValueOptions) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty timestamp")
	}
	if isDigits(s) {
		return parseDigitsTime(s, opt)
	}
	if hasMonthName(s) {
		return parseMonthNameTime(s, opt)
	}
	datePart, clock := s, ""
	if i := strings.IndexAny(s, "T "); i >= 0 {
		datePart, clock = s[:i], strings.TrimSpace(s[i+1:])
	}
	y, mo, d, err := parseDate(datePart, opt.DateOrder)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q: %w", s, err)
	}
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	var hh, mm, ss, ns int
	if clock != "" {
		var zone *time.Location
		if hh, mm, ss, ns, zone, err = parseClock(clock); err != nil {
			return 0, fmt.Errorf("timestamp %q: %w", s, err)
		}
		if zone != nil {
			loc = zone
		}
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, ns, loc)
	return t.UnixMicro(), nil
}

var monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// hasMonthName reports whether s names a month in English (Mar 5, 2024).
func hasMonthName(s string) bool {
	run, word := 0, false // a month name needs three letters in a row
	for i := 0; i < len(s) && !word; i++ {
		if isLetter(s[i]) {
			run++
			word = run >= 3
		} else {
			run = 0
		}
	}
	if !word {
		return false
	}
	l := strings.ToLower(s)
	for _, m := range monthNames {
		if i := strings.Index(l, m); i >= 0 && (i == 0 || !isLetter(l[i-1])) {
			return true
		}
	}
	return false
}

// monthNameLayouts are the dates with English month names that exports
// write (Magento, Excel, e-mail style).
var monthNameLayouts = []string{
	"Jan 2, 2006 3:04:05 PM", "Jan 2, 2006 3:04 PM", "Jan 2, 2006 15:04:05", "Jan 2, 2006 15:04", "Jan 2, 2006",
	"January 2, 2006 3:04:05 PM", "January 2, 2006 15:04:05", "January 2, 2006",
	"2 Jan 2006 15:04:05", "2 Jan 2006 15:04", "2 Jan 2006", "2 January 2006 15:04:05", "2 January 2006 15:04", "2 January 2006",
	"2-Jan-2006 15:04:05", "2-Jan-2006 15:04", "2-Jan-2006",
	time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700", time.ANSIC,
}

func parseMonthNameTime(s string, opt ValueOptions) (int64, error) {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, l := range monthNameLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			if y := t.Year(); y < 1900 || y > 9999 {
				return 0, fmt.Errorf("timestamp %q: year %d out of range 1900..9999", s, y)
			}
			return t.UnixMicro(), nil
		}
	}
	return 0, fmt.Errorf("timestamp %q: %s, or an English month name (Mar 5, 2024 2:22:10 PM; 5 Mar 2024)", s, dateHelp)
}

func parseDigitsTime(s string, opt ValueOptions) (int64, error) {
	switch n := len(s); {
	case n == 8:
		return ParseTime(s[:4]+"-"+s[4:6]+"-"+s[6:], opt)
	case n == 9 || n == 10 || n == 12 || n == 13:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("timestamp %q: %w", s, err)
		}
		if n >= 12 {
			return v * 1000, nil // epoch milliseconds
		}
		return v * 1_000_000, nil // epoch seconds
	}
	return 0, fmt.Errorf("timestamp %q: %d digits is neither YYYYMMDD (8) nor Unix epoch seconds (10) or milliseconds (13)", s, len(s))
}

const dateHelp = "want ISO 8601 (2024-03-05, 2024-03-05T14:22:10Z), YYYY/MM/DD, YYYYMMDD, DD/MM/YYYY or MM/DD/YYYY with date_order, or Unix epoch seconds/ms"

// parseDate parses the date part of a timestamp into year, month and day.
func parseDate(s, order string) (y, m, d int, err error) {
	if strings.Contains(s, "年") { // 2024年3月5日
		s = strings.TrimSuffix(strings.NewReplacer("年", "-", "月", "-", "日", "").Replace(s), "-")
	}
	sep := byte(0)
	for _, c := range []byte{'-', '/', '.'} {
		if strings.IndexByte(s, c) >= 0 {
			sep = c
			break
		}
	}
	i, j := strings.IndexByte(s, sep), strings.LastIndexByte(s, sep)
	if sep == 0 || i == j || strings.IndexByte(s[i+1:j], sep) >= 0 {
		return 0, 0, 0, errors.New(dateHelp)
	}
	parts := [3]string{s[:i], s[i+1 : j], s[j+1:]}
	n := [3]int{}
	for i, p := range parts {
		if p == "" || len(p) > 4 || !isDigits(p) {
			return 0, 0, 0, errors.New(dateHelp)
		}
		n[i], _ = strconv.Atoi(p)
	}
	switch {
	case len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2:
		y, m, d = n[0], n[1], n[2]
	case len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
		y = n[2]
		switch order {
		case DateOrderDMY:
			d, m = n[0], n[1]
		case DateOrderMDY:
			m, d = n[0], n[1]
		case "":
			switch {
			case n[0] == n[1] || n[1] > 12:
				m, d = n[0], n[1]
			case n[0] > 12:
				d, m = n[0], n[1]
			default:
				return 0, 0, 0, fmt.Errorf("day-first or month-first? %s could be either; set date_order: dmy or mdy", s)
			}
		default:
			return 0, 0, 0, fmt.Errorf("date order %q: want dmy or mdy", order)
		}
	default:
		return 0, 0, 0, errors.New(dateHelp)
	}
	if y < 1900 || y > 9999 {
		return 0, 0, 0, fmt.Errorf("year %d out of range 1900..9999", y)
	}
	if m < 1 || m > 12 {
		return 0, 0, 0, fmt.Errorf("month %d out of range", m)
	}
	if d < 1 || d > civilDaysIn(y, m) {
		return 0, 0, 0, fmt.Errorf("day %d out of range for %04d-%02d", d, y, m)
	}
	return y, m, d, nil
}

// parseClock parses "14:22", "14:22:10", "14:22:10.123456", "2:15 PM", each
// optionally followed by Z, UTC, ±hh:mm, ±hhmm or ±hh (zone nil when absent).
func parseClock(s string) (hh, mm, ss, ns int, zone *time.Location, err error) {
	bad := func() (int, int, int, int, *time.Location, error) {
		return 0, 0, 0, 0, nil, fmt.Errorf("time %q: want hh:mm[:ss[.fraction]] [AM|PM] [Z|±hh:mm]", s)
	}
	rest := s
	num := func(max int) (int, bool) {
		i := 0
		for i < len(rest) && i < 2 && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, false
		}
		v, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		return v, v <= max
	}
	var ok bool
	if hh, ok = num(23); !ok || !strings.HasPrefix(rest, ":") {
		return bad()
	}
	rest = rest[1:]
	if mm, ok = num(59); !ok {
		return bad()
	}
	if strings.HasPrefix(rest, ":") {
		rest = rest[1:]
		if ss, ok = num(59); !ok {
			return bad()
		}
		if strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, ",") {
			i := 1
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			if i == 1 {
				return bad()
			}
			frac := rest[1:i]
			if len(frac) > 9 {
				frac = frac[:9]
			}
			ns, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
			rest = rest[i:]
		}
	}
	rest = strings.TrimSpace(rest)
	if up := strings.ToUpper(rest); strings.HasPrefix(up, "AM") || strings.HasPrefix(up, "PM") {
		if hh < 1 || hh > 12 {
			return bad()
		}
		hh %= 12
		if up[0] == 'P' {
			hh += 12
		}
		rest = strings.TrimSpace(rest[2:])
	}
	switch {
	case rest == "":
	case rest == "Z" || rest == "z" || rest == "UTC" || rest == "GMT":
		zone = time.UTC
	case rest[0] == '+' || rest[0] == '-':
		digits := strings.Replace(rest[1:], ":", "", 1)
		if !isDigits(digits) || (len(digits) != 2 && len(digits) != 4) {
			return bad()
		}
		oh, _ := strconv.Atoi(digits[:2])
		om := 0
		if len(digits) == 4 {
			om, _ = strconv.Atoi(digits[2:])
		}
		if oh > 18 || om > 59 {
			return bad()
		}
		off := (oh*60 + om) * 60
		if rest[0] == '-' {
			off = -off
		}
		zone = time.FixedZone("", off)
	default:
		return bad()
	}
	return hh, mm, ss, ns, zone, nil
}

// currencyCodes are ISO 4217 codes (and RMB) that may precede or follow an
// amount; dollarPrefixes are written right before $ (US$, HK$, NT$ ...).
var (
	currencyCodes  = []string{"USD", "EUR", "GBP", "CNY", "RMB", "JPY", "HKD", "TWD", "SGD", "AUD", "CAD", "CHF", "NZD", "KRW", "INR"}
	dollarPrefixes = []string{"US", "HK", "NT", "NZ", "S", "A", "C", "R"}
)

// ParseAmount parses a money amount as exports write it into integer cents,
// exactly (no floating point): an optional sign (-, −, a trailing -, or
// accounting parentheses), currency symbols and codes before or after
// (¥ ￥ $ € £, USD, CNY, RMB, 元, US$ ...), thousands grouped by the
// non-decimal separator, spaces or apostrophes in groups of three, and the
// decimal separator decimal ('.' or ','; 0 means '.'). More than two
// decimals are rounded half away from zero.
func ParseAmount(s string, decimal byte) (int64, error) {
	return ParseDecimal(s, decimal, 2)
}

// ParseDecimal is ParseAmount with places decimals kept (0..9): the value
// in units of 10^−places, rounded half away from zero beyond them. Unit
// prices use 6 places so that quantity × price rounds to cents only once.
func ParseDecimal(s string, decimal byte, places int) (int64, error) {
	if decimal == 0 {
		decimal = '.'
	}
	if v, ok := fastDecimal(s, decimal, places); ok {
		return v, nil
	}
	return parseDecimal(s, decimal, places)
}

// fastDecimal reads the plain shape [-]digits[<decimal>digits] digit by
// digit, as parseDecimal would; ok is false for anything else.
func fastDecimal(s string, decimal byte, places int) (v int64, ok bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	nd := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int64(s[i]-'0')
		nd++
	}
	if nd+places > 18 {
		return 0, false
	}
	scale := int64(1)
	for range places {
		scale *= 10
	}
	v *= scale
	nf := 0
	if i < len(s) && s[i] == decimal {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			switch c := int64(s[i] - '0'); {
			case nf < places:
				scale /= 10
				v += scale * c
			case nf == places && c >= 5:
				v++
			}
			nf++
		}
	}
	if i != len(s) || nd+nf == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func parseDecimal(s string, decimal byte, places int) (int64, error) {
	orig := s
	group := byte(',')
	if decimal == ',' {
		group = '.'
	}
	if !plainAmount(s) {
		s = trimSpaceAll(s)
	}
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, trimSpaceAll(s[1:len(s)-1])
	}
	if !plainAmount(s) {
		s = trimCurrency(s)
	}
	for _, minus := range []string{"-", "−"} {
		if strings.HasPrefix(s, minus) {
			neg, s = !neg, trimCurrency(s[len(minus):])
		} else if strings.HasSuffix(s, minus) {
			neg, s = !neg, trimCurrency(s[:len(s)-len(minus)])
		}
	}
	if strings.HasPrefix(s, "+") {
		s = trimCurrency(s[1:])
	}
	notNumber := func() (int64, error) { return 0, fmt.Errorf("amount %q is not a number", orig) }
	intPart, frac := s, ""
	if i := strings.IndexByte(s, decimal); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if intPart == "" && frac == "" {
		return notNumber()
	}
	// Digits and group separators; groups after the first have three digits.
	var cents int64
	digits, groupLen, grouped := 0, 0, false
	for i := 0; i < len(intPart); {
		r, size := utf8.DecodeRuneInString(intPart[i:])
		i += size
		switch {
		case r >= '0' && r <= '9':
			if cents > (1<<62)/10 {
				return 0, fmt.Errorf("amount %q is too large", orig)
			}
			cents = cents*10 + int64(r-'0')
			digits++
			groupLen++
		case r == rune(group) || r == ' ' || r == '\'' || r == '\u00a0' || r == '\u202f' || r == '’':
			if digits == 0 || (grouped && groupLen != 3) || groupLen > 3 {
				return amountGroupError(orig, decimal)
			}
			grouped, groupLen = true, 0
		default:
			return notNumber()
		}
	}
	if grouped && groupLen != 3 {
		return amountGroupError(orig, decimal)
	}
	scale := int64(1)
	for range places {
		scale *= 10
	}
	if cents > (1<<62)/scale {
		return 0, fmt.Errorf("amount %q is too large", orig)
	}
	cents *= scale
	for i, c := range []byte(frac) {
		if c < '0' || c > '9' {
			if c == group || c == '.' || c == ',' {
				return amountGroupError(orig, decimal)
			}
			return notNumber()
		}
		switch {
		case i < places:
			scale /= 10
			cents += scale * int64(c-'0')
		case i == places && c >= '5':
			cents++
		}
	}
	if digits == 0 && frac == "" {
		return notNumber()
	}
	if neg {
		cents = -cents
	}
	return cents, nil
}

// plainAmount reports whether s starts with a digit, sign or point and
// ends with a digit or point: nothing to trim (the common case, fast).
func plainAmount(s string) bool {
	if s == "" {
		return false
	}
	first, last := s[0], s[len(s)-1]
	return (first >= '0' && first <= '9' || first == '-' || first == '.' || first == '+') && (last >= '0' && last <= '9' || last == '.')
}

func amountGroupError(orig string, decimal byte) (int64, error) {
	return 0, fmt.Errorf("amount %q does not fit decimal separator %q with thousands in groups of three; set decimal: '%s' if this export uses the other one",
		orig, decimal, map[byte]string{'.': ",", ',': "."}[decimal])
}

// trimSpaceAll trims Unicode spaces, including no-break spaces.
func trimSpaceAll(s string) string {
	return strings.TrimFunc(s, unicode.IsSpace)
}

// trimCurrency strips currency symbols (Unicode category Sc), 元 and known
// currency codes from both ends of s, with the spaces around them.
func trimCurrency(s string) string {
	for {
		t := trimSpaceAll(s)
		t = strings.TrimFunc(t, func(r rune) bool { return unicode.Is(unicode.Sc, r) || r == '元' })
		t = trimSpaceAll(t)
		for _, c := range dollarPrefixes {
			if strings.HasPrefix(t, c+"$") {
				t = t[len(c):]
				break
			}
		}
		for _, c := range currencyCodes {
			if len(t) > len(c) && strings.EqualFold(t[:len(c)], c) && !isLetter(t[len(c)]) {
				t = t[len(c):]
				break
			}
			if len(t) > len(c) && strings.EqualFold(t[len(t)-len(c):], c) && !isLetter(t[len(t)-len(c)-1]) {
				t = t[:len(t)-len(c)]
				break
			}
		}
		if t == s {
			return s
		}
		s = t
	}
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
