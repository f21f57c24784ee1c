package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/negative"
	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/runner"
)

// runNegativeControls is `scn run FILE --negative-control KIND|all`: the
// drill runs with one fault injected, its verdict inverted (runner.Fault,
// internal/negative). all runs every kind that applies, each as its own
// run, prints a table and exits 0 only when every kind was detected.
func runNegativeControls(ctx context.Context, g *globals, f *runFlags, scs []*runner.Checked, vars map[string]string) error {
	if len(scs) != 1 {
		return exitWith(2, "--negative-control runs one scenario file, not %d", len(scs))
	}
	sc := scs[0].Scenario()
	kinds := []string{f.negative}
	if f.negative == "all" {
		if kinds = negative.Applicable(sc); len(kinds) == 0 {
			return exitWith(2, "no negative control applies to %s: it restores nothing, stores no snapshot and has no standby", sc.File)
		}
	}
	for _, k := range kinds { // every kind checked before anything runs
		fault, err := negative.New(k)
		if err != nil {
			return exitWith(2, "--negative-control: %v", err)
		}
		if err := fault.Applies(sc); err != nil {
			return exitWith(2, "%v", err)
		}
	}
	tgt, err := openTarget(ctx, g)
	if err != nil {
		return exitWith(2, "target %s: %v", g.target, err)
	}
	defer tgt.Close()
	var rows []controlRow
	var all []*session.Run
	var mask *secret.Masker
	worst := 0
	for i, k := range kinds {
		fault, _ := negative.New(k)
		runs, m, err := runBatch(ctx, g, f, tgt, scs, vars, fault, i == 0)
		if runs == nil {
			return err // nothing ran (bad --var, refused spend)
		}
		all, mask = append(all, runs...), m
		var ee *exitError
		switch {
		case errors.As(err, &ee):
			worst = max(worst, ee.code)
		case err != nil:
			return err
		}
		row := controlRow{kind: k}
		if len(runs) == 1 && runs[0].Journal != nil {
			row.j, row.dir = runs[0].Journal, runs[0].Dir
		}
		rows = append(rows, row)
		if ctx.Err() != nil || worst >= 130 {
			break // interrupted: the other kinds do not run
		}
	}
	if f.negative == "all" {
		writeControlTable(rows)
	}
	var status error
	if worst != 0 {
		status = &exitError{code: worst}
	}
	return withReports(status, mask, f, all) // one --junit, --json, --html over every kind's run
}

type controlRow struct {
	kind string
	j    *journal.Journal
	dir  string
}

// writeControlTable is `all`'s verdict: one line per kind.
func writeControlTable(rows []controlRow) {
	fmt.Fprintln(os.Stdout, "\nNegative controls")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	detected := 0
	for _, r := range rows {
		if r.j == nil || r.j.NegativeControl == nil {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", r.kind, "NOT RUN", "")
			continue
		}
		nc := r.j.NegativeControl
		what := ""
		switch nc.Verdict {
		case journal.ControlDetected:
			detected++
			what = "detected at step " + nc.DetectedAt
		default:
			what = firstLineOf(r.j.Error)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.kind, strings.ToUpper(nc.Verdict), what, r.dir)
	}
	tw.Flush()
	fmt.Fprintf(os.Stdout, "  %d of %d kinds detected\n", detected, len(rows))
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
