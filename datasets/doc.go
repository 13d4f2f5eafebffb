// Package datasets is the only package of churn that touches disk. It owns the
// on-disk contracts: column names (as constants), the canonical transaction row,
// CSV readers for outside input, Parquet writers and readers (parquet-go for
// row-wise writes at ingest, arrow-go pqarrow where data flows as Arrow), the
// atomic folder commit with a manifest written last, the retention-list writers
// and the synthetic shop generator.
//
// Units: money is integer cents (int64); timestamps are microseconds since the
// Unix epoch, UTC. Readers that return Arrow record batches hand ownership to the
// caller, who must Release them.
//
// Memory: writers hold a bucket per worker, not a table. WarehouseWriter spills
// queued rows by bucket to a hidden folder of the work directory and commits
// the buckets one per worker; SnapshotWriter writes a snapshot part by part
// as the parts are built; ReadSnapshot and ScanSnapshotParts read the
// columns asked for.
//
// Errors in outside input are *DataError values naming file, line and column.
package datasets
