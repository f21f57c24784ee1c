package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/cleanup"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/target"
)

type cleanupFlags struct {
	run       string
	olderThan time.Duration
	pattern   string
	dryRun    bool
	timeout   time.Duration
}

func newCleanupCmd(g *globals) *cobra.Command {
	f := &cleanupFlags{}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Destroy what crashed or interrupted runs left behind (from the ledger): exit 0 clean, 1 something left",
		Long: "scn cleanup reads the resource ledger (STATE-DIR/ledger.jsonl) and destroys every instance, standby VM\n" +
			"and snapshot it shows created and not destroyed, each through the target named in its record (with the\n" +
			"same credentials as a run). A resource whose creation was asked for but never confirmed is looked up by\n" +
			"its label on the provider. Runs still in progress (in another terminal) are never touched.\n" +
			"See docs/cleanup.md.",
		Example: "  scn cleanup --dry-run\n  scn cleanup --run 20261126-182301-3fa9\n  scn cleanup --older-than 2h --pattern 'scn-2026*'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runCleanup(ctx, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.run, "run", "", "only the resources of this run id")
	fl.DurationVar(&f.olderThan, "older-than", 0, "only resources first recorded at least this long ago, e.g. 2h (default: any age)")
	fl.StringVar(&f.pattern, "pattern", "", "only resources whose label matches this glob, e.g. 'scn-2026*'")
	fl.BoolVar(&f.dryRun, "dry-run", false, "list what would be destroyed, one line per resource, and change nothing")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up on one resource after this long")
	return cmd
}

func runCleanup(ctx context.Context, g *globals, f *cleanupFlags) error {
	state := g.absState()
	s := newPrinter(os.Stdout)
	defer s.close()
	if _, err := os.Stat(filepath.Join(state, ledger.FileName)); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(s.out, "nothing to clean up: no ledger in %s\n", state)
		return nil
	}
	led, err := ledger.Open(state, ledger.WithMask(s.mask.String))
	if err != nil {
		return exitWith(2, "opening the resource ledger: %v", err)
	}
	defer led.Close()
	left, err := cleanup.Find(led, state, ledger.Filter{Run: f.run, OlderThan: f.olderThan, Pattern: f.pattern})
	if err != nil {
		return exitWith(2, "%v", err)
	}
	if left.Skipped > 0 {
		fmt.Fprintf(os.Stderr, "warning: %s of %s could not be read (torn by a crash, or corrupt) and were skipped\n",
			plural.Count(left.Skipped, "line"), led.Path())
	}
	if f.dryRun {
		writeDryRun(s.out, left, time.Now())
		if len(left.Todo) > 0 {
			return &exitError{code: 1}
		}
		return nil
	}
	c := &cleanup.Cleaner{Ledger: led, Timeout: f.timeout,
		Open: func(ctx context.Context, name string) (*target.Target, error) {
			t, err := assembly.Open(ctx, assembly.OpenOptions{Name: name, StateDir: state, ConfigFile: g.config})
			if err == nil {
				s.mask.Add(t.Secrets...)
			}
			return t, err
		},
		Report: func(r cleanup.Result) { writeResult(s.out, r, s.mask.String) },
	}
	defer c.Close()
	fmt.Fprintf(s.out, "scn cleanup · %s in %s\n", plural.Count(len(left.Todo), "open resource"), led.Path())
	score := c.Clean(ctx, left)
	writeLive(s.out, left)
	return writeVerdict(s.out, score, len(left.Live))
}

// writeDryRun lists, one line per resource, what cleanup would do.
func writeDryRun(w io.Writer, left *cleanup.Leftovers, now time.Time) {
	if len(left.Todo) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tID\tPROVIDER\tTARGET\tRUN\tSTEP\tLABEL\tAGE\tACTION")
		for _, r := range left.Todo {
			id, action := r.ID, "destroy"
			if r.ID == "" {
				id, action = "-", "look up by label"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Kind), id, dash(r.Provider), dash(r.Target),
				dash(r.Run), dash(r.Step), dash(r.Label), fmtAge(now.Sub(r.Since())), action)
		}
		tw.Flush()
		fmt.Fprintf(w, "\n%s to clean up (dry run: nothing was done; run `scn cleanup` with the same flags)\n", plural.Count(len(left.Todo), "resource"))
	} else {
		fmt.Fprintln(w, "nothing to clean up")
	}
	writeLive(w, left)
}

// writeLive says which resources were left alone because their run is
// still going.
func writeLive(w io.Writer, left *cleanup.Leftovers) {
	per := map[string]int{}
	var runs []string
	for _, r := range left.Live {
		if per[r.Run] == 0 {
			runs = append(runs, r.Run)
		}
		per[r.Run]++
	}
	for _, run := range runs {
		fmt.Fprintf(w, "not touched: %s of run %s, still in progress (pid %d): it cleans up after itself\n",
			plural.Count(per[run], "resource"), run, left.LivePID[run])
	}
}

// writeResult prints one resource's outcome, masking secrets in errors.
func writeResult(w io.Writer, r cleanup.Result, mask func(string) string) {
	if r.Outcome == cleanup.Left {
		fmt.Fprintf(w, "  ✗ %s %s: NOT destroyed: %s  %s\n", r.Record.Kind, dash(r.ID), mask(r.Err.Error()), where(r.Record))
		return
	}
	what := r.Note
	if r.Took > 0 {
		what += " " + fmtSeconds(r.Took.Seconds())
	}
	fmt.Fprintf(w, "  ✓ %s %s: %s  %s\n", r.Record.Kind, dash(r.ID), what, where(r.Record))
}

// where says where a record comes from.
func where(r ledger.Record) string {
	return fmt.Sprintf("(%s · target %s · run %s · step %s)", dash(r.Provider), dash(r.Target), dash(r.Run), dash(r.Step))
}

// writeVerdict prints the score: exit 0 when nothing is left, 1 otherwise.
func writeVerdict(w io.Writer, score cleanup.Score, live int) error {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{score.Destroyed, "destroyed"}, {score.Gone, "already gone"}, {score.NeverMade, "never created"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	summary := strings.Join(parts, ", ")
	if score.Left == 0 {
		if summary == "" {
			summary = "nothing to do"
		}
		if live > 0 {
			summary += fmt.Sprintf("; %s of runs in progress not touched", plural.Count(live, "resource"))
		}
		fmt.Fprintf(w, "clean: %s\n", summary)
		return nil
	}
	if summary != "" {
		summary = " (" + summary + ")"
	}
	fmt.Fprintf(w, "%s still left%s: fix what is said above and run `scn cleanup` again, or destroy by hand\n",
		plural.Count(score.Left, "resource"), summary)
	return &exitError{code: 1}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtAge is a record's age: 45s, 12m05s, 5h02m, 3d04h.
func fmtAge(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s < 0:
		return "0s"
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 48*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}
