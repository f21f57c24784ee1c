package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/runner"
)

// job is one scenario of a `scn run` invocation: its own runner (so its
// own run id, labels, ledger entries and run directory) and, when several
// run at once, its own console whose lines carry the scenario's name.
type job struct {
	name   string // shown in the prefix and the summary
	r      *runner.Runner
	out    *prefixWriter // nil: the run prints on the shared console
	j      *journal.Journal
	dir    string
	notRun string // why it never started
	err    error  // writing its files failed
}

// runJobs runs the jobs, at most n at once, in order of the list. Once ctx
// is cancelled no new job starts.
func runJobs(ctx context.Context, jobs []*job, n int, run func(*job)) {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for _, jb := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			jb.notRun = "not started: " + context.Cause(ctx).Error()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			run(jb)
		}()
	}
	wg.Wait()
}

// prefixWriter writes whole lines, each starting with prefix, onto a writer
// that other runs share: the lines of parallel runs interleave but are
// never cut. All prefixWriters of one invocation share mu.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := slices.Index(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := io.WriteString(p.w, p.prefix+string(p.buf[:i+1])); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// Flush writes out an unfinished last line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		io.WriteString(p.w, p.prefix+string(p.buf)+"\n")
		p.buf = nil
	}
}

// prefixes names each job for its console: the scenario name, "#2" on a
// repeated name, padded to one width so the lines align.
func prefixes(names []string) []string {
	seen := map[string]int{}
	out := make([]string, len(names))
	width := 0
	for i, n := range names {
		seen[n]++
		if seen[n] > 1 {
			n += "#" + strconv.Itoa(seen[n])
		}
		out[i] = "[" + n + "]"
		width = max(width, len(out[i]))
	}
	for i := range out {
		out[i] += strings.Repeat(" ", width-len(out[i])+1)
	}
	return out
}

// parallelConsole is the live view of one run among several: its step
// lines (never a spinner: lines of other runs would break it), then only
// the verdict lines of its closing report; the whole report is in its run
// directory (`scn report DIR`).
type parallelConsole struct {
	*report.Console
	w    io.Writer
	opts report.Options
}

func (c parallelConsole) RunFinished(j *journal.Journal) {
	c.Console.Close()
	o := c.opts
	o.Quiet = true
	report.WriteSummary(c.w, j, o)
}

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
func writeRunTable(w io.Writer, jobs []*job) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, jb := range jobs {
		if jb.j == nil {
			fmt.Fprintf(tw, "  %s\t%s\t\t\t\t%s\n", "NOT RUN", jb.name, jb.notRun)
			continue
		}
		j := jb.j
		cost := fmt.Sprintf("$%.4f", j.Cost.TotalUSD)
		if j.Cost.Simulated {
			cost += " (simulated)"
		}
		valid := "-"
		if v := j.Validation; v != nil {
			valid = fmt.Sprintf("%d/%d files valid", v.Valid, v.Total)
		}
		dir := jb.dir
		if jb.err != nil {
			dir += " (" + jb.err.Error() + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", report.Verdict(j), jb.name, fmtSeconds(j.Seconds), cost, valid, dir)
	}
	tw.Flush()
}

// writeCombined is the closing word of several scenarios.
func writeCombined(w io.Writer, jobs []*job) {
	tally := map[string]int{}
	for _, jb := range jobs {
		word := "not run"
		if jb.j != nil {
			word = strings.ToLower(report.Verdict(jb.j))
		}
		tally[word]++
	}
	var parts []string
	for _, word := range []string{"pass", "fail", "error", "interrupted", "not run"} {
		if tally[word] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", tally[word], word))
		}
	}
	fmt.Fprintf(w, "\nscn · %s · %s\n", count(len(jobs), "scenario"), strings.Join(parts, " · "))
	writeRunTable(w, jobs)
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
