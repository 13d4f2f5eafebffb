package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
)

func newCLV() *cobra.Command {
	c := &cobra.Command{
		Use:   "clv",
		Short: "Fit and evaluate buy-till-you-die CLV models on a file",
		Long: `Fits BG/NBD, MBG/NBD, Pareto/NBD, BG/BB or Gamma-Gamma by maximum likelihood on
a transactions file, the CDNOW text layout or a BTYD summary, and evaluates them
on a holdout period. Parameter names follow the papers.`,
	}
	c.AddCommand(newCLVFit(), newCLVEvaluate())
	return c
}

type clvFlags struct {
	in                                  pipeline.CLVInput
	calEnd, holdoutEnd, mapping, config string
	asJSON                              bool
}

func (f *clvFlags) register(c *cobra.Command, holdout bool) {
	fl := c.Flags()
	fl.StringVar(&f.in.Model, "model", "bgnbd", fmt.Sprintf("model: %v", pipeline.CLVModels))
	fl.StringVar(&f.in.Path, "input", "", "input file (required)")
	fl.StringVar(&f.in.Format, "format", "transactions", fmt.Sprintf("input format: %v", pipeline.CLVFormats))
	fl.StringVar(&f.calEnd, "calibration-end", "", "last day of the calibration period, YYYY-MM-DD (transactions, cdnow)")
	fl.StringVar(&f.in.TimeUnit, "time-unit", "week", "time unit of x, t_x and T: day or week (BG/BB: the opportunity length)")
	fl.StringVar(&f.mapping, "map", "", "column mapping key=header,... for --format transactions")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fl.Float64Var(&f.in.L2, "l2", 0, "L2 penalty on the parameters (lifetimes' penalizer_coef; 0.001–0.1 for small samples)")
	fl.StringVar(&f.config, "config", "", "YAML config file; keys are flag names")
	if holdout {
		fl.StringVar(&f.holdoutEnd, "holdout-end", "", "last day of the holdout period, YYYY-MM-DD (required)")
	}
}

func (f *clvFlags) resolve(c *cobra.Command, holdout bool) error {
	if err := applyConfig(c); err != nil {
		return err
	}
	if f.in.Path == "" {
		return usagef("--input is required")
	}
	if _, err := os.Stat(f.in.Path); err != nil {
		return usagef("--input: %v", err)
	}
	m, err := datasets.ParseColumnMap(f.mapping)
	if err != nil {
		return usagef("--map: %v", err)
	}
	f.in.Map = m
	if f.calEnd != "" {
		if f.in.CalibrationEnd, err = parseDateFlag("calibration-end", f.calEnd); err != nil {
			return err
		}
	}
	if holdout {
		if f.in.HoldoutEnd, err = parseDateFlag("holdout-end", f.holdoutEnd); err != nil {
			return err
		}
	}
	if err := f.in.Validate(holdout); err != nil {
		return usageError{err}
	}
	return nil
}

func printJSON(c *cobra.Command, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = c.OutOrStdout().Write(out.Bytes())
	return err
}

func newCLVFit() *cobra.Command {
	var f clvFlags
	var predictions string
	var opt pipeline.CLVPredictOptions
	c := &cobra.Command{
		Use:   "fit --model M --input FILE --format transactions|cdnow|summary [--calibration-end DATE] [--time-unit week] [--json]",
		Short: "Fit a CLV model by maximum likelihood and print its parameters",
		Long: `Fits the model on customers' calibration summary: x repeat purchase days, t_x
(first to last purchase) and T (first purchase to calibration end), in the time
unit; several transactions on one day count once. Prints the parameters with 95%
intervals from the observed information, the log-likelihood and the number of
customers. --format summary reads a CSV with frequency|x, recency|t_x, T (and
optional monetary_value, weight) columns; T = 0 rows are rejected.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.resolve(c, false); err != nil {
				return err
			}
			fit, data, err := pipeline.FitCLV(c.Context(), f.in)
			if err != nil {
				return err
			}
			if predictions != "" {
				ps, err := fit.Predict(data, opt)
				if err != nil {
					return err
				}
				if err := datasets.WriteCSVFile(predictions, pipeline.PredictionColumns, pipeline.PredictionRows(ps)); err != nil {
					return err
				}
			}
			if f.asJSON {
				return printJSON(c, fit)
			}
			return fit.WriteText(c.OutOrStdout())
		},
	}
	f.register(c, false)
	fl := c.Flags()
	fl.StringVar(&predictions, "predictions", "", "also write per-customer predictions to this CSV: P(alive), expected purchases, P(no purchase), median time to next purchase, expected spend, CLV, with 95% intervals")
	fl.Float64Var(&opt.Horizon, "horizon", 52, "prediction horizon in time units (BG/BB: opportunities)")
	fl.Float64Var(&opt.DiscountRate, "discount-rate", 0.10, "annual discount rate of the monthly CLV cash flows")
	fl.IntVar(&opt.Draws, "draws", 200, "parameter draws for the 95% intervals (0: none)")
	fl.Uint64Var(&opt.Seed, "seed", 1, "seed of the parameter draws")
	return c
}

func newCLVEvaluate() *cobra.Command {
	var f clvFlags
	var svg string
	c := &cobra.Command{
		Use:   "evaluate --model bgnbd|mbgnbd|pareto-nbd|bgbb --input FILE --format transactions|cdnow --calibration-end DATE --holdout-end DATE",
		Short: "Fit on a calibration period and compare predictions with a holdout",
		Long: `Fits on the calibration period, then compares with the holdout period: total
repeat transactions, per-customer error, conditional expectations by
calibration frequency, and cumulative repeat transactions per time unit (the
tracking plot; --svg writes it as a chart). For BG/BB the time unit is the
opportunity, counted from each customer's first purchase, and there is no
calendar tracking.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.resolve(c, true); err != nil {
				return err
			}
			ev, err := pipeline.EvaluateCLV(c.Context(), f.in)
			if err != nil {
				return err
			}
			if svg != "" {
				var buf bytes.Buffer
				if err := ev.TrackingSVG(&buf); err != nil {
					return err
				}
				if err := datasets.WriteFileAtomic(svg, buf.Bytes()); err != nil {
					return err
				}
			}
			if f.asJSON {
				return printJSON(c, ev)
			}
			return ev.WriteText(c.OutOrStdout())
		},
	}
	f.register(c, true)
	c.Flags().StringVar(&svg, "svg", "", "write the tracking chart to this SVG file")
	return c
}
