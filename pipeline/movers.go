package pipeline

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// MoversCSV is the file of customers who moved since the previous list.
const MoversCSV = "movers.csv"

// Kinds of moves, in the order movers.csv lists them.
const (
	MoveEnteredHigh = "entered_high" // high risk now, not before (or not listed)
	MoveRiskUp      = "risk_up"      // low → medium
	MoveRiskDown    = "risk_down"    // a lower risk tier than before
	MoveCameBack    = "came_back"    // was at medium or high risk and has ordered since
	MoveNew         = "new"          // not on the previous list
)

var moveOrder = []string{MoveEnteredHigh, MoveRiskUp, MoveCameBack, MoveRiskDown, MoveNew}

// Mover is one customer's change since the previous list.
type Mover struct {
	Move string
	Prev *datasets.ListEntry // the previous list's entry; nil for new customers
	Now  int32               // the customer's row in the ranked list
}

// Movers summarises the moves for the report.
type Movers struct {
	PreviousAsOf string
	Counts       map[string]int
	TopEntered   []MoverRow // new entrants to high risk with the most value at risk
}

// MoverRow is a mover with its row of the list.
type MoverRow struct {
	Move string
	Prev *datasets.ListEntry // nil for new customers
	Now  datasets.ScoreRow
}

var riskLevel = map[string]int{"low": 0, "medium": 1, "high": 2}

// previousList finds the newest published list before asOf ("" if none).
func previousList(workdir string, asOf time.Time) (string, string) {
	entries, err := os.ReadDir(filepath.Join(workdir, datasets.ListsDir))
	if err != nil {
		return "", ""
	}
	best := ""
	for _, e := range entries {
		day, ok := strings.CutPrefix(e.Name(), "as-of=")
		if !ok || !e.IsDir() || day >= dateString(asOf) || day <= best {
			continue
		}
		if datasets.Committed(filepath.Join(workdir, datasets.ListsDir, e.Name())) {
			best = day
		}
	}
	if best == "" {
		return "", ""
	}
	return best, datasets.ListDir(workdir, best)
}

// findMovers compares the ranked list now with the entries of the previous
// list that each gives, a batch at a time: it holds the moves and an index
// of the list's ids, not the previous list (ten million customers: some
// 0.8 GB). The ids of a list are its customers', once each.
func findMovers(each func(fn func([]datasets.ListEntry) error) error, now *list) ([]Mover, error) {
	at := make(map[string]int32, len(now.rows))
	for i := range now.rows {
		at[now.rows[i].id] = int32(i)
	}
	before := make([]bool, len(now.rows)) // on the previous list
	var out []Mover
	err := each(func(prev []datasets.ListEntry) error {
		for k := range prev {
			p := &prev[k]
			i, ok := at[p.CustomerID]
			if !ok || before[i] {
				continue
			}
			before[i] = true
			r := &now.rows[i]
			level, was := int(r.risk), riskLevel[p.RiskTier] // riskTiers' order
			m := Mover{Now: i}
			switch {
			case level == riskLevel["high"] && was != level:
				m.Move = MoveEnteredHigh
			case was >= riskLevel["medium"] && now.lastDates.get(r.lastDay) > p.LastOrderDate:
				m.Move = MoveCameBack
			case level > was:
				m.Move = MoveRiskUp
			case level < was:
				m.Move = MoveRiskDown
			default:
				continue
			}
			m.Prev = new(*p)         // a copy: the batch goes
			m.Prev.CustomerID = r.id // the list's string, not the batch's id block
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, ok := range before {
		if !ok {
			out = append(out, Mover{Move: MoveNew, Now: int32(i)})
		}
	}
	// By kind, then as ranked now (value at risk).
	slices.SortFunc(out, func(a, b Mover) int {
		return cmp.Or(slices.Index(moveOrder, a.Move)-slices.Index(moveOrder, b.Move), cmp.Compare(a.Now, b.Now))
	})
	return out, nil
}

// moversCSV renders the moves of the list l.
func moversCSV(l *list, ms []Mover) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"move", "customer_id", "rank", "previous_rank", "risk_tier", "previous_risk_tier", "churn_probability",
		"previous_churn_probability", "value_at_risk", "last_order_date", "previous_last_order_date", "suggested_action"})
	f := func(v float64, p int) string { return strconv.FormatFloat(v, 'f', p, 64) }
	var now datasets.ScoreRow
	for _, m := range ms {
		l.row(int(m.Now), &now)
		prevRank, prevTier, prevP, prevLast := "", "", "", ""
		if m.Prev != nil {
			prevRank, prevTier, prevP, prevLast = strconv.FormatInt(m.Prev.Rank, 10), m.Prev.RiskTier, f(m.Prev.ChurnProbability, 4), m.Prev.LastOrderDate
		}
		_ = w.Write([]string{m.Move, datasets.NeutraliseCell(now.CustomerID), strconv.FormatInt(now.Rank, 10), prevRank, now.RiskTier, prevTier,
			f(now.ChurnProbability, 4), prevP, f(now.ValueAtRisk, 2), now.LastOrderDate, prevLast, datasets.NeutraliseCell(now.SuggestedAction)})
	}
	w.Flush()
	return b.Bytes()
}

// summariseMovers counts the moves and keeps the top new entrants to high risk.
func summariseMovers(prevAsOf string, l *list, ms []Mover) *Movers {
	s := &Movers{PreviousAsOf: prevAsOf, Counts: map[string]int{}}
	for _, m := range ms {
		s.Counts[m.Move]++
		if m.Move == MoveEnteredHigh && len(s.TopEntered) < 10 {
			mr := MoverRow{Move: m.Move, Prev: m.Prev}
			l.row(int(m.Now), &mr.Now)
			s.TopEntered = append(s.TopEntered, mr)
		}
	}
	return s
}
