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
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/ledger"
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

// leftovers is what cleanup found in the ledger.
type leftovers struct {
	todo    []ledger.Record // open, matching the filter, of runs not in progress
	live    []ledger.Record // open, but their run is still going
	livePID map[string]int  // run id → pid of runs in progress
	all     []ledger.Record // every record, to know which ids are accounted for
	skipped int             // unreadable ledger lines
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
	left, err := findLeftovers(led, state, ledger.Filter{Run: f.run, OlderThan: f.olderThan, Pattern: f.pattern})
	if err != nil {
		return exitWith(2, "%v", err)
	}
	if left.skipped > 0 {
		fmt.Fprintf(os.Stderr, "warning: %s of %s could not be read (torn by a crash, or corrupt) and were skipped\n",
			count(left.skipped, "line"), led.Path())
	}
	if f.dryRun {
		writeDryRun(s.out, left, time.Now())
		if len(left.todo) > 0 {
			return &exitError{code: 1}
		}
		return nil
	}
	c := &cleaner{ctx: ctx, g: g, s: s, led: led, timeout: f.timeout, all: left.all, now: time.Now}
	defer c.close()
	c.clean(left.todo)
	writeLive(s.out, left)
	return c.verdict(len(left.live))
}

// findLeftovers reads the open records matching filter and sets aside those
// of runs still in progress.
func findLeftovers(led *ledger.Ledger, state string, filter ledger.Filter) (*leftovers, error) {
	open, err := led.Leftovers(filter)
	if err != nil {
		return nil, err
	}
	left := &leftovers{livePID: map[string]int{}}
	checked := map[string]bool{}
	for _, r := range open {
		if !checked[r.Run] {
			checked[r.Run] = true
			if pid, live := ledger.RunLive(state, r.Run); live {
				left.livePID[r.Run] = pid
			}
		}
	}
	// Read again now that the live runs are known: a run that ended in
	// between has closed its records, and they must not be destroyed twice.
	if open, err = led.Leftovers(filter); err != nil {
		return nil, err
	}
	for _, r := range open {
		if _, live := left.livePID[r.Run]; live {
			left.live = append(left.live, r)
		} else if checked[r.Run] {
			left.todo = append(left.todo, r)
		} // else: a run that started after the first read, so live
	}
	if left.all, left.skipped, err = led.Records(); err != nil {
		return nil, err
	}
	return left, nil
}

// writeDryRun lists, one line per resource, what cleanup would do.
func writeDryRun(w io.Writer, left *leftovers, now time.Time) {
	if len(left.todo) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tID\tPROVIDER\tTARGET\tRUN\tSTEP\tLABEL\tAGE\tACTION")
		for _, r := range left.todo {
			id, action := r.ID, "destroy"
			if r.ID == "" {
				id, action = "-", "look up by label"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Kind), id, dash(r.Provider), dash(r.Target),
				dash(r.Run), dash(r.Step), dash(r.Label), fmtAge(now.Sub(r.Since())), action)
		}
		tw.Flush()
		fmt.Fprintf(w, "\n%s to clean up (dry run: nothing was done; run `scn cleanup` with the same flags)\n", count(len(left.todo), "resource"))
	} else {
		fmt.Fprintln(w, "nothing to clean up")
	}
	writeLive(w, left)
}

// writeLive says which resources were left alone because their run is
// still going.
func writeLive(w io.Writer, left *leftovers) {
	per := map[string]int{}
	var runs []string
	for _, r := range left.live {
		if per[r.Run] == 0 {
			runs = append(runs, r.Run)
		}
		per[r.Run]++
	}
	for _, run := range runs {
		fmt.Fprintf(w, "not touched: %s of run %s, still in progress (pid %d): it cleans up after itself\n",
			count(per[run], "resource"), run, left.livePID[run])
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
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
