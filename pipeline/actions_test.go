package pipeline

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// The built-in rules give each kind of customer the action the issue asks
// for: VIP outreach for valuable customers at high risk, service recovery
// after a complaint or for a detractor, a discount for lapsing
// price-sensitive buyers, nothing for the low-value lost.
func TestDefaultActionRules(t *testing.T) {
	nan := math.NaN()
	plain := actionInput{daysSinceComplaint: nan, discount: nan, overdue: nan}
	with := func(f func(*actionInput)) actionInput { in := plain; f(&in); return in }
	cases := []struct {
		row  datasets.ScoreRow
		in   actionInput
		want string
	}{
		{datasets.ScoreRow{RiskTier: "high", PredictedCLV: 1000, Segment: "Lost"}, plain, "VIP outreach"},
		{datasets.ScoreRow{RiskTier: "medium", PredictedCLV: 10, Segment: "Loyal"}, with(func(i *actionInput) { i.daysSinceComplaint = 20 }), "Service recovery"},
		{datasets.ScoreRow{RiskTier: "medium", PredictedCLV: 11, Segment: "Loyal"}, with(func(i *actionInput) { i.daysSinceComplaint = 200 }), "Win-back offer: personalised"},
		{datasets.ScoreRow{RiskTier: "high", PredictedCLV: 12, Segment: "New", SatisfactionClass: "detractor"}, plain, "Service recovery"},
		{datasets.ScoreRow{RiskTier: "high", PredictedCLV: 13, Segment: "About to sleep"}, with(func(i *actionInput) { i.discount, i.overdue = 0.5, 2 }), "Win-back offer: discount"},
		{datasets.ScoreRow{RiskTier: "high", PredictedCLV: 14, Segment: "About to sleep"}, with(func(i *actionInput) { i.discount, i.overdue = 0.5, 1 }), "Re-engage"},
		{datasets.ScoreRow{RiskTier: "low", PredictedCLV: 1, Segment: "Lost"}, plain, "No action"},
		{datasets.ScoreRow{RiskTier: "low", PredictedCLV: 15, Segment: "Promising"}, plain, "Onboarding"},
		{datasets.ScoreRow{RiskTier: "low", PredictedCLV: 16, Segment: "Champions"}, plain, "Reward"},
	}
	rows := make([]datasets.ScoreRow, len(cases))
	inputs := make([]actionInput, len(cases))
	for i, c := range cases {
		rows[i], inputs[i] = c.row, c.in
	}
	l := mustList(t, rows)
	if err := assignActions(l, inputs, defaultRules(features.DefaultTiers), LangEN, 2); err != nil {
		t.Fatal(err)
	}
	rows = l.scoreRows(0, len(rows))
	for i, c := range cases {
		if !strings.HasPrefix(rows[i].SuggestedAction, c.want) {
			t.Errorf("case %d: %q, want %s…", i, rows[i].SuggestedAction, c.want)
		}
	}
}

// A CRM team's own rules file: conditions on tier, satisfaction and the
// top reasons work; mistakes are errors with the file and line.
func TestActionRulesFile(t *testing.T) {
	dir := t.TempDir()
	good := "rules:\n" +
		"  - action: Gold care\n    when: {tier: [gold, platinum], reason: [complaints_90d]}\n" +
		"  - action: Ask for a review\n    zh: 邀请评价\n    when: {satisfaction: [promoter]}\n" +
		"  - action: Nothing\n"
	path := filepath.Join(dir, "rules.yaml")
	os.WriteFile(path, []byte(good), 0o644)
	rules, err := LoadActionRules(path, features.DefaultTiers)
	if err != nil {
		t.Fatal(err)
	}
	rows := []datasets.ScoreRow{{LoyaltyTier: "gold"}, {LoyaltyTier: "gold", SatisfactionClass: "promoter"}, {}}
	reasons, err := reasonSetOf([]string{features.RecencyDays, features.Complaints90d})
	if err != nil {
		t.Fatal(err)
	}
	inputs := []actionInput{{reasons: reasons}, {}, {}}
	l := mustList(t, rows)
	if err := assignActions(l, inputs, rules, LangBoth, 2); err != nil {
		t.Fatal(err)
	}
	rows = l.scoreRows(0, len(rows))
	if rows[0].SuggestedAction != "Gold care | Gold care" || rows[1].SuggestedAction != "邀请评价 | Ask for a review" || rows[2].SuggestedAction != "Nothing | Nothing" {
		t.Errorf("actions: %q", []string{rows[0].SuggestedAction, rows[1].SuggestedAction, rows[2].SuggestedAction})
	}
	for _, bad := range []struct{ text, want string }{
		{"rules:\n  - action: A\n    when: {riks: [high]}\n  - action: B\n", "line 3"},
		{"rules:\n  - action: A\n    when: {segment: [Whales]}\n  - action: B\n", "rules.yaml:2: rule 1: segment \"Whales\""},
		{"rules:\n  - action: A\n  - action: B\n    when: {risk: [high]}\n", "rules.yaml:3: the last rule"},
		{"rules:\n  - action: A\n    when: {tier: [diamond]}\n  - action: B\n", "tier \"diamond\""},
		{"rules:\n  - when: {risk: [high]}\n  - action: B\n", "no action"},
		{"rules: []\n", "no rules"},
	} {
		os.WriteFile(path, []byte(bad.text), 0o644)
		if _, err := LoadActionRules(path, features.DefaultTiers); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.text, err, bad.want)
		}
	}
}

// Campaign sizing by hand: value at risk 100, 50, 20, 5, 1; save rate 0.1,
// cost 3 → gains 7, 2, −1, …: contact two, profit 9. A budget of 5 stops
// at one (a second contact would cost 6); --top 1 too.
func TestCampaignSizing(t *testing.T) {
	mk := func() []datasets.ScoreRow {
		var rows []datasets.ScoreRow
		for _, v := range []float64{100, 50, 20, 5, 1} {
			rows = append(rows, datasets.ScoreRow{ValueAtRisk: v})
		}
		return rows
	}
	for _, tc := range []struct {
		cfg      Config
		contacts int
		profit   float64
		stop     string
	}{
		{Config{SaveRate: 0.1, ContactCost: 3}, 2, 9, "ranked 3 would add -1.000"},
		{Config{SaveRate: 0.1, ContactCost: 3, Budget: 5}, 1, 7, "budget of 5.00 is spent"},
		{Config{SaveRate: 0.1, ContactCost: 3, Top: 1}, 1, 7, "--top 1"},
		{Config{SaveRate: 0.5, ContactCost: 0.1}, 5, 88 - 0.5, "the whole list"},
	} {
		l := mustList(t, mk())
		s := sizeCampaign(tc.cfg, l.rows)
		rows := l.scoreRows(0, len(l.rows))
		if s.Contacts != tc.contacts || math.Abs(s.Profit-tc.profit) > 1e-9 || !strings.Contains(s.Stop, tc.stop) {
			t.Errorf("%+v: %d contacts, profit %v, stop %q; want %d, %v, %q", tc.cfg, s.Contacts, s.Profit, s.Stop, tc.contacts, tc.profit, tc.stop)
		}
		for i, r := range rows {
			if r.Contact != (i < tc.contacts) {
				t.Errorf("%+v: row %d contact = %v", tc.cfg, i, r.Contact)
			}
		}
	}
}

// The control group: about the configured share, the same for an id
// whatever the run or the other customers, another draw for another seed;
// the sizing never contacts it and it costs nothing.
func TestControlGroup(t *testing.T) {
	n, in := 100_000, 0
	for i := range n {
		id := fmt.Sprintf("%08d", i)
		c := inControl(1, 0.1, id)
		if c {
			in++
		}
		if c != inControl(1, 0.1, id) {
			t.Fatal("unstable")
		}
	}
	if share := float64(in) / float64(n); math.Abs(share-0.1) > 0.004 { // 4 binomial standard deviations
		t.Errorf("control share %v, want 0.1", share)
	}
	same := 0
	for i := range 1000 {
		id := fmt.Sprintf("%08d", i)
		if inControl(1, 0.5, id) == inControl(2, 0.5, id) {
			same++
		}
	}
	if same > 600 || same < 400 {
		t.Errorf("seeds 1 and 2 agree on %d of 1000 at share 0.5", same)
	}
	l := mustList(t, []datasets.ScoreRow{{ValueAtRisk: 100}, {ValueAtRisk: 90, Control: true}, {ValueAtRisk: 80}, {ValueAtRisk: 1}})
	s := sizeCampaign(Config{SaveRate: 0.1, ContactCost: 3, Budget: 6}, l.rows)
	rows := l.scoreRows(0, len(l.rows))
	if s.Contacts != 2 || s.Control != 1 || !rows[0].Contact || rows[1].Contact || !rows[2].Contact || rows[3].Contact {
		t.Errorf("sizing with a control row: %+v, %+v", s, rows)
	}
}

// The uplift statistics by hand: retention 0.6 of 100 vs 0.5 of 50,
// spend means 10 (sd 2) vs 8 (sd 3).
func TestUpliftStatistics(t *testing.T) {
	a := GroupOutcome{Customers: 100, RetentionRate: 0.6, MeanSpend: 10, SDSpend: 2}
	b := GroupOutcome{Customers: 50, RetentionRate: 0.5, MeanSpend: 8, SDSpend: 3}
	d, ci := proportionDiff(a, b)
	se := math.Sqrt(0.6*0.4/100 + 0.5*0.5/50) // 0.0860
	if math.Abs(d-0.1) > 1e-12 || math.Abs(ci[0]-(0.1-1.959963984540054*se)) > 1e-12 || math.Abs(ci[1]-(0.1+1.959963984540054*se)) > 1e-12 {
		t.Errorf("retention: %v %v", d, ci)
	}
	d, ci = meanDiff(a, b)
	se = math.Sqrt(4.0/100 + 9.0/50) // 0.469
	if math.Abs(d-2) > 1e-12 || math.Abs(ci[1]-ci[0]-2*1.959963984540054*se) > 1e-12 {
		t.Errorf("spend: %v %v", d, ci)
	}
	g := groupOutcome([]float64{1, 2, 3, 4}, 3)
	if g.Customers != 4 || g.RetentionRate != 0.75 || g.MeanSpend != 2.5 || math.Abs(g.SDSpend-math.Sqrt(5.0/3)) > 1e-12 {
		t.Errorf("group outcome %+v", g)
	}
}

// Permille ranks by hand: probabilities 0.9, 0.5 (Lost, New), 0.5, 0.1.
func TestRankRisk(t *testing.T) {
	l := mustList(t, []datasets.ScoreRow{{ChurnProbability: 0.9, Segment: "Lost"}, {ChurnProbability: 0.5, Segment: "Lost"},
		{ChurnProbability: 0.5, Segment: "New"}, {ChurnProbability: 0.1, Segment: "New"}})
	rankRisk(l.rows, 2)
	var got []int64
	for _, r := range l.scoreRows(0, len(l.rows)) {
		got = append(got, r.RiskPermille, r.SegmentRiskPermille)
	}
	if fmt.Sprint(got) != "[1000 1000 750 500 750 1000 250 500]" {
		t.Errorf("permilles %v", got)
	}
}

// countAtOrBelow gives the counts of both searches it stands for, for
// every value of a list with ties, zeros of both signs, infinities and
// NaNs, and for values it does not hold.
func TestCountAtOrBelow(t *testing.T) {
	vals := []float64{0.5, 0.25, math.Copysign(0, -1), 0, 0.5, 1, math.Inf(1), math.Inf(-1), math.NaN(), 0.7731, 0.25, math.NaN(), 1}
	for i := range 3000 {
		vals = append(vals, math.Round(float64(i*7919%10007))/1e4)
	}
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	probe := append(slices.Clone(vals), 0.3333, -1, 2, math.Nextafter(0.5, 1), math.Nextafter(0.5, 0))
	upper := func(p float64) int { return sort.SearchFloat64s(sorted, math.Nextafter(p, math.Inf(1))) }
	greater := func(p float64) int { return sort.Search(len(sorted), func(k int) bool { return sorted[k] > p }) }
	for _, search := range []func(float64) int{upper, greater} {
		count := countAtOrBelow(sorted, search)
		for _, p := range probe {
			if got, want := count(p), search(p); got != want {
				t.Errorf("%v: %d, want %d", p, got, want)
			}
		}
	}
}

// Every text the report marks for translation has a Chinese version, and
// every translation is used.
func TestReportTranslations(t *testing.T) {
	src := reportHTML + kpiHTML
	used := map[string]bool{}
	for _, part := range strings.Split(src, `{{t "`)[1:] {
		key := strings.ReplaceAll(part[:strings.Index(part, `"}}`)], `\"`, `"`)
		used[key] = true
		if reportZH[key] == "" {
			t.Errorf("no Chinese for %q", key)
		}
	}
	for k := range reportZH {
		if !used[k] {
			t.Errorf("translation of %q is not used", k)
		}
	}
}

// A rules file of any bytes: rules, or an error that names the file; never
// a panic.
func FuzzParseActionRules(f *testing.F) {
	f.Add(DefaultActionRules)
	f.Add([]byte("rules:\n  - when: {risk: [high]}\n    action: call\n  - action: none\n"))
	f.Add([]byte("rules:\n  - when: {clv_percentile_min: 150}\n    action: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseActionRules("rules.yaml", b, features.DefaultTiers)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "rules.yaml") {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		if r == nil || len(r.Rules) == 0 {
			t.Fatalf("no error and no rules: %+v", r)
		}
	})
}

// A reason set gives back the names it was made of, in order, for every
// feature a reason can name; it refuses other names and a fourth reason.
func TestReasonSet(t *testing.T) {
	for i, name := range reasonNames {
		other := reasonNames[(i+1)%len(reasonNames)]
		for _, names := range [][]string{{name}, {name, other}, {other, name, features.DaysSinceCancel}} {
			s, err := reasonSetOf(names)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.names(); !slices.Equal(got, names) || s.first() != names[0] || !s.any([]string{name}) {
				t.Fatalf("%q: names %q, first %q, any(%s) %v", names, got, s.first(), name, s.any([]string{name}))
			}
		}
	}
	if s, err := reasonSetOf(nil); err != nil || s.names() != nil || s.first() != "" || s.any(reasonNames) {
		t.Errorf("no reasons: %v, %v", s, err)
	}
	if s, _ := reasonSetOf([]string{features.RecencyDays}); s.any([]string{features.Complaints90d}) {
		t.Error("any: a reason the set does not hold")
	}
	for _, bad := range [][]string{{"customer_id"}, {features.RecencyDays, ""}, {features.RecencyDays, features.RecencyDays, features.RecencyDays, features.RecencyDays}} {
		if _, err := reasonSetOf(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestSharedStrings: equal strings come back as one copy, up to maxShared
// distinct ones; beyond that each is its own.
func TestSharedStrings(t *testing.T) {
	var tab sharedStrings
	a := tab.get(strings.Repeat("no order for 120 days", 1))
	b := tab.get(string([]byte("no order for 120 days")))
	if a != b || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatal("equal strings are two copies")
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range maxShared / 2 {
				tab.get(strconv.Itoa(2*i + w))
			}
		})
	}
	wg.Wait()
	if len(tab.in) != maxShared {
		t.Fatalf("%d shared, want %d", len(tab.in), maxShared)
	}
	c, d := tab.get("beyond"), tab.get(string([]byte("beyond")))
	if c != d || unsafe.StringData(c) == unsafe.StringData(d) || len(tab.in) != maxShared {
		t.Errorf("past the bound: shared %v, %d kept", unsafe.StringData(c) == unsafe.StringData(d), len(tab.in))
	}
	if e := tab.get(string([]byte("no order for 120 days"))); unsafe.StringData(e) != unsafe.StringData(a) {
		t.Error("a string kept before the bound is no longer shared")
	}
}
