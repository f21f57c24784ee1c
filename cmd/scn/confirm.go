package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// confirmSpend shows the worst-case cost of a paid target and asks on a
// terminal before renting anything; --yes skips the question, and without
// a terminal --yes is required (CI must say it means it).
func confirmSpend(ctx context.Context, g *globals, f *runFlags, t *target.Target, scs []*runner.Checked, vars map[string]string) error {
	if !t.Paid || f.yes {
		return nil
	}
	total, unbounded := 0.0, false
	for _, c := range scs {
		p := runner.MakePlan(c, t.Name, runner.StaticPricer(ctx, c, t, vars))
		p.Write(os.Stderr)
		total += p.WorstCost
		unbounded = unbounded || p.Unbounded
	}
	limit := "unbounded"
	if !unbounded {
		limit = fmt.Sprintf("at most $%.2f of machine time", total) // bandwidth, billed per GB, is not known before it moves
	}
	if !isatty.IsTerminal(os.Stdin.Fd()) {
		return exitWith(2, "target %s spends real money (%s): pass --yes to run without asking", t.Name, limit)
	}
	fmt.Fprintf(os.Stderr, "\nTarget %s spends real money (%s). Run? [y/N] ", t.Name, limit)
	answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return exitWith(1, "not run: nothing was rented")
	}
	return nil
}
