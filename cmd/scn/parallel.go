package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/session"
)

// Several scenarios in one `scn run`: --shard picks this invocation's
// part, and the closing summary has a line per run. Running them (at
// most --parallel at once) is internal/session's.

// shard is --shard i/n: this invocation runs the i-th of n parts.
type shard struct{ i, n int }

func parseShard(s string) (shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, erri := strconv.Atoi(strings.TrimSpace(a))
	n, errn := strconv.Atoi(strings.TrimSpace(b))
	if !ok || erri != nil || errn != nil || n < 1 || i < 1 || i > n {
		return shard{}, exitWith(2, "--shard %q: write --shard i/n with 1 <= i <= n, e.g. --shard 2/3", s)
	}
	return shard{i, n}, nil
}

// pick returns this shard's files. The files are cleaned, deduplicated and
// sorted by path (as given, with forward slashes), then dealt round-robin:
// the k-th (0-based) goes to shard k mod n + 1. So the split depends only
// on the set of paths, not on the argument order or the machine, and the
// shards differ in size by at most one. They run in sorted order.
func (s shard) pick(files []string) []string {
	var all []string
	for _, f := range files {
		all = append(all, filepath.ToSlash(filepath.Clean(f)))
	}
	slices.Sort(all)
	all = slices.Compact(all)
	var out []string
	for k, f := range all {
		if k%s.n == s.i-1 {
			out = append(out, filepath.FromSlash(f))
		}
	}
	return out
}

// writeRunTable writes one line per run: verdict, scenario, time, cost,
// validation and where its files are.
func writeRunTable(w io.Writer, runs []*session.Run) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range runs {
		if r.Journal == nil {
			fmt.Fprintf(tw, "  %s\t%s\t\t\t\t%s\n", "NOT RUN", r.Name, r.NotRun)
			continue
		}
		j := r.Journal
		cost := report.CostText(j.Cost)
		valid := "-"
		if v := j.Validation; v != nil {
			valid = fmt.Sprintf("%d/%d files valid", v.Valid, v.Total)
		}
		dir := r.Dir
		if r.FilesErr != nil {
			dir += " (" + r.FilesErr.Error() + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", report.Verdict(j), r.Name, fmtSeconds(j.Seconds), cost, valid, dir)
	}
	tw.Flush()
}

// writeCombined is the closing word of several scenarios.
func writeCombined(w io.Writer, runs []*session.Run) {
	tally := map[string]int{}
	for _, r := range runs {
		word := "not run"
		if r.Journal != nil {
			word = strings.ToLower(report.Verdict(r.Journal))
		}
		tally[word]++
	}
	var parts []string
	for _, word := range []string{"pass", "fail", "error", "interrupted", "not run"} {
		if tally[word] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", tally[word], word))
		}
	}
	fmt.Fprintf(w, "\nscn · %s · %s\n", plural.Count(len(runs), "scenario"), strings.Join(parts, " · "))
	writeRunTable(w, runs)
}

// fmtSeconds is a duration for summaries: 0.8s, 2m05s, 1h02m.
func fmtSeconds(s float64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}
