// Package models is pure math on []float64: buy-till-you-die CLV models
// (BG/NBD, Gamma-Gamma), churn classifiers (L2 logistic regression) and
// classification metrics. It does no I/O and never imports Arrow or datasets;
// model values marshal to JSON so callers can store them.
//
// Units: BTYD times (t_x, T, horizons) are in the caller's time unit (the
// pipeline uses weeks = days/7, as the BTYD literature does); rates are per
// that unit. Spend is in currency units. Feature matrices are row-major
// [n×p] slices; NaN marks a missing value and is imputed with the training mean.
package models
