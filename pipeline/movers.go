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
	Now      *datasets.ScoreRow
	PrevRank int64
}

// Movers summarises the moves for the report.
type Movers struct {
	PreviousAsOf string
	Counts       map[string]int
	TopEntered   []Mover // new entrants to high risk with the most value at risk
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
func findMovers(prev []datasets.ListEntry, now []datasets.ScoreRow) []Mover {
	before := make(map[string]int32, len(prev))
	for i := range prev {
		before[prev[i].CustomerID] = int32(i)
	}
	var out []Mover
	for i := range now {
		r := &now[i]
		var p *datasets.ListEntry
		if k, ok := before[r.CustomerID]; ok {
			p = &prev[k]
		}
		m := Mover{Now: r, Prev: p}
		switch {
		case p == nil:
			m.Move = MoveNew
		case r.RiskTier == "high" && p.RiskTier != "high":
			m.Move = MoveEnteredHigh
		case riskLevel[p.RiskTier] >= 1 && r.LastOrderDate > p.LastOrderDate:
			m.Move = MoveCameBack
		case riskLevel[r.RiskTier] > riskLevel[p.RiskTier]:
			m.Move = MoveRiskUp
		case riskLevel[r.RiskTier] < riskLevel[p.RiskTier]:
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

// moversCSV renders the moves.
func moversCSV(ms []Mover) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"move", "customer_id", "rank", "previous_rank", "risk_tier", "previous_risk_tier", "churn_probability",
		"previous_churn_probability", "value_at_risk", "last_order_date", "previous_last_order_date", "suggested_action"})
	f := func(v float64, p int) string { return strconv.FormatFloat(v, 'f', p, 64) }
	for _, m := range ms {
		prevRank, prevTier, prevP, prevLast := "", "", "", ""
		if m.Prev != nil {
			prevRank, prevTier, prevP, prevLast = strconv.FormatInt(m.Prev.Rank, 10), m.Prev.RiskTier, f(m.Prev.ChurnProbability, 4), m.Prev.LastOrderDate
		}
		_ = w.Write([]string{m.Move, datasets.NeutraliseCell(m.Now.CustomerID), strconv.FormatInt(m.Now.Rank, 10), prevRank, m.Now.RiskTier, prevTier,
			f(m.Now.ChurnProbability, 4), prevP, f(m.Now.ValueAtRisk, 2), m.Now.LastOrderDate, prevLast, datasets.NeutraliseCell(m.Now.SuggestedAction)})
	}
	w.Flush()
	return b.Bytes()
}

// summariseMovers counts the moves and keeps the top new entrants to high risk.
func summariseMovers(prevAsOf string, ms []Mover) *Movers {
	s := &Movers{PreviousAsOf: prevAsOf, Counts: map[string]int{}}
	for _, m := range ms {
		s.Counts[m.Move]++
		if m.Move == MoveEnteredHigh && len(s.TopEntered) < 10 {
			s.TopEntered = append(s.TopEntered, m)
		}
	}
	return s
}
