// Package features turns canonical transactions (Arrow record batches sorted by
// customer_id then ts, as the warehouse stores them) into one feature row per
// customer at a cutoff date. It is pure: no I/O, no clock, no logging.
//
// Time: the cutoff is a calendar day (UTC) and is included: rows with
// ts < cutoff+1 day are observed. Labels look at [cutoff+1 day, cutoff+1 day+horizon).
// Day counts are whole UTC calendar days; money columns ending in _cents are
// int64 cents, other money columns are float64 currency units.
//
// Nulls: gap_mean_days, gap_std_days and overdue_ratio are null when a customer
// has too few purchase days to define them; label columns exist only in
// labelled snapshots. Record batches returned by Builder.Finish and RFMScorer.Columns
// belong to the caller, who must Release them. See docs/FEATURES.md for the catalogue.
package features
