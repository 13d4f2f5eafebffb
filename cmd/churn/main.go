package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/pipeline"
)

// Exit codes (README.md, "Exit codes").
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitBadInput = 3
	exitGuard    = 4
	exitLocked   = 5
)

// usageError marks a problem with flags or config: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if activeRemote != nil { // the command failed: its work is not pushed, but for a list a guard held back
		if errors.Is(err, pipeline.ErrGuard) {
			if perr := pushWorkdir(ctx); perr != nil {
				err = errors.Join(err, perr)
			}
		} else {
			activeRemote.Close()
			activeRemote = nil
		}
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "churn:", err)
	var ue usageError
	switch {
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintln(os.Stderr, "Run 'churn --help' or 'churn <command> --help' for usage.")
		return exitUsage
	case errors.Is(err, datasets.ErrLocked):
		return exitLocked
	case errors.Is(err, pipeline.ErrGuard):
		fmt.Fprintln(os.Stderr, "The list was written but not published: lists/LATEST still names the previous one.")
		return exitGuard
	case datasets.IsDataError(err):
		fmt.Fprintln(os.Stderr, "Nothing was written: fix the input and run again.")
		return exitBadInput
	}
	return exitFailure
}
