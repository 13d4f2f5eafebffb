package pipeline

import (
	"bytes"
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
	Move     string
	Prev     *datasets.ListEntry // nil for new customers
	Now      int32               // the customer's row in the ranked list
	PrevRank int64
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

// findMovers compares the ranked rows with the previous list's entries.
func findMovers(prev []datasets.ListEntry, now *list) []Mover {
	before := make(map[string]int32, len(prev))
	for i := range prev {
		before[prev[i].CustomerID] = int32(i)
	}
	var out []Mover
	for i := range now.rows {
		r := &now.rows[i]
		var p *datasets.ListEntry
		if k, ok := before[r.id]; ok {
			p = &prev[k]
		}
		m := Mover{Now: int32(i), Prev: p}
		tier := riskTiers[r.risk]
		switch {
		case p == nil:
			m.Move = MoveNew
		case tier == "high" && p.RiskTier != "high":
			m.Move = MoveEnteredHigh
		case riskLevel[p.RiskTier] >= 1 && now.lastDates.get(r.lastDay) > p.LastOrderDate:
			m.Move = MoveCameBack
		case riskLevel[tier] > riskLevel[p.RiskTier]:
			m.Move = MoveRiskUp
		case riskLevel[tier] < riskLevel[p.RiskTier]:
			m.Move = MoveRiskDown
		default:
			continue
		}
		if p != nil {
			m.PrevRank = p.Rank
		}
		out = append(out, m)
	}
	// By kind, then as ranked now (value at risk).
	slices.SortStableFunc(out, func(a, b Mover) int {
		return slices.Index(moveOrder, a.Move) - slices.Index(moveOrder, b.Move)
	})
	return out
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
