// Command churn turns transaction history into risk-ranked retention lists.
// It is wiring only: flags, config file and environment → pipeline; logging,
// progress and exit codes. See `churn --help` and README.md.
package main
