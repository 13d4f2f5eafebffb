package datasets

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// The entries and probabilities read from a list equal the fields of the
// rows written, in order, across record batches (70,000 rows: more than
// one batch of 64k), with empty ids and dates among them.
func TestReadListEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([]ScoreRow, 70_000)
	for i := range rows {
		rows[i] = ScoreRow{Rank: int64(i + 1), CustomerID: fmt.Sprintf("c%07d", rng.IntN(1e7)), ChurnProbability: float64(rng.IntN(10001)) / 1e4,
			RiskTier: []string{"low", "medium", "high"}[rng.IntN(3)], LastOrderDate: fmt.Sprintf("2025-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28)),
			Reasons: "no order for 120 days", Segment: "Loyal", ModelVersion: "v1", ScoredAt: "2025-12-31", Contact: rng.IntN(3) == 0, Control: rng.IntN(5) == 0}
	}
	rows[7].CustomerID, rows[8].LastOrderDate = "", ""
	path := filepath.Join(t.TempDir(), ScoresParquet)
	if err := WriteScoresParquet(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadListEntries(path)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := ReadScoreProbabilities(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) || len(probs) != len(rows) {
		t.Fatalf("%d entries and %d probabilities, want %d", len(got), len(probs), len(rows))
	}
	for i, r := range rows {
		want := ListEntry{CustomerID: r.CustomerID, Rank: r.Rank, ChurnProbability: r.ChurnProbability, RiskTier: r.RiskTier, LastOrderDate: r.LastOrderDate,
			Contact: r.Contact, Control: r.Control}
		if got[i] != want || probs[i] != r.ChurnProbability {
			t.Fatalf("row %d: entry %+v, probability %v; want %+v", i, got[i], probs[i], want)
		}
	}
}

// A Parquet file that is not a list is refused, naming the file.
func TestReadListEntriesNotAList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "customers.parquet")
	if err := writeParquetRows(path, []Customer{{CustomerID: "a"}}); err != nil {
		t.Fatal(err)
	}
	var de *DataError
	if _, err := ReadListEntries(path); !errors.As(err, &de) || de.File != path {
		t.Errorf("entries of a customers file: %v, want a DataError naming it", err)
	}
	if _, err := ReadScoreProbabilities(path); err == nil {
		t.Error("probabilities of a customers file: no error")
	}
}

// The rows kept from EachScores' chunks equal the whole file's rows
// accepted, in order, across its reads of a few thousand rows (a kept
// row's strings stay its own while later rows are read).
func TestEachScores(t *testing.T) {
	rows := make([]ScoreRow, 20_000)
	for i := range rows {
		rows[i] = ScoreRow{Rank: int64(i + 1), CustomerID: fmt.Sprintf("c%06d", i), Reasons: fmt.Sprintf("no order for %d days; spend down %d%%", i%400, i%97),
			RiskTier: []string{"low", "medium", "high"}[i%3], LastOrderDate: fmt.Sprintf("2025-%02d-%02d", 1+i%12, 1+i%28), Contact: i%7 < 2}
	}
	path := filepath.Join(t.TempDir(), ScoresParquet)
	if err := WriteScoresParquet(path, rows); err != nil {
		t.Fatal(err)
	}
	var got []ScoreRow
	chunks := 0
	err := EachScores(path, func(rows []ScoreRow) error {
		chunks++
		for _, r := range rows {
			if r.Contact {
				got = append(got, r)
			}
		}
		return nil
	})
	if err != nil || chunks < 4 {
		t.Fatalf("%d chunks, %v", chunks, err)
	}
	var want []ScoreRow
	for _, r := range rows {
		if r.Contact {
			want = append(want, r)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows kept, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("kept row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := EachScores(filepath.Join(t.TempDir(), "none.parquet"), func([]ScoreRow) error { return nil }); err == nil {
		t.Error("a missing file: no error")
	}
	stop := errors.New("stop")
	if err := EachScores(path, func([]ScoreRow) error { return stop }); err != stop {
		t.Errorf("fn's error: %v", err)
	}
}
