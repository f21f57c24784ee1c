package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Goals from the issue: scn at least this much faster than the fastest
// peer, both ways, under this much memory for a 1 GiB workspace.
const (
	goalRatio  = 1.5
	goalMaxRSS = 256 << 20
)

// mbps is throughput in decimal MB/s of the workspace's file bytes.
func (r *results) mbps(p phase) float64 {
	if p.Wall <= 0 {
		return 0
	}
	return float64(r.Info.Bytes) / 1e6 / p.Wall.Seconds()
}

func (r *results) find(tool string) *toolResult {
	for _, t := range r.Tools {
		if t.Tool == tool && t.ok() {
			return t
		}
	}
	return nil
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\nscn bench-snapshot: %s; %s\n", r.Info, cpus())
	fmt.Fprintf(w, "machine: load average %s before the bench, %s at its end; never-touched memory is handed out at %.0f MB/s\n", r.LoadStart, r.LoadEnd, r.FreshMemory)
	if l, err := strconv.ParseFloat(r.LoadStart, 64); err == nil && l > float64(runtime.NumCPU())/2 {
		fmt.Fprintln(w, "  WARNING: other work was running: the numbers below are not this machine's best")
	}
	if r.Endpoint != "" {
		fmt.Fprintf(w, "S3: s3serve (gofakes3, in memory) at %s, plain HTTP, path-style, SigV4\n", r.Endpoint)
	}
	if len(r.ScnEnv) > 0 {
		fmt.Fprintf(w, "scn processes ran with %s\n", strings.Join(r.ScnEnv, " "))
	}
	if len(r.Versions) > 0 {
		fmt.Fprintf(w, "tools: %s\n", strings.Join(r.Versions, "; "))
	}
	runs := "one run each"
	if r.Runs > 1 {
		runs = fmt.Sprintf("fastest of %d runs", r.Runs)
	}
	fmt.Fprintf(w, "MB/s = %.1f MB of file contents / wall time of the whole command (%s)\n\n", float64(r.Info.Bytes)/1e6, runs)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\t snapshot MB/s\t s\t CPU s\t restore MB/s\t s\t CPU s\t stored MB\t peak RSS snap/rest\t restored tree\t")
	for _, t := range r.Tools {
		check := "identical"
		switch {
		case t.Err != nil:
			check = "FAILED"
		case len(t.Diffs) > 0:
			check = "DIFFERS"
		}
		fmt.Fprintf(tw, "%s\t %s\t %s\t %s\t %s\t %s\t %s\t %.1f\t %s / %s\t %s\t\n", t.Label,
			num(r.mbps(t.Snapshot)), secs(t.Snapshot.Wall.Seconds()), secs(t.Snapshot.CPU.total().Seconds()),
			num(r.mbps(t.Restore)), secs(t.Restore.Wall.Seconds()), secs(t.Restore.CPU.total().Seconds()),
			float64(t.Stored)/1e6, rss(t.Snapshot.MaxRSS), rss(t.Restore.MaxRSS), check)
	}
	tw.Flush()
	fmt.Fprintln(w, "CPU s: all processes of the tool, plus the S3 server; for scn also the sandbox (its SSH server and tar):")
	for _, t := range r.Tools {
		fmt.Fprintf(w, "  %-40s snapshot %s   restore %s\n", t.Label, t.Snapshot.CPU, t.Restore.CPU)
	}
	fmt.Fprintf(w, "peak RSS: scn: its process's own VmHWM; others: rusage of their largest process, at least the bench's own %s.\n", rss(r.BenchRSS))
	for _, t := range r.Tools {
		if t.Err != nil {
			fmt.Fprintf(w, "%s FAILED: %v\n", t.Label, t.Err)
		}
		for _, d := range t.Diffs {
			fmt.Fprintf(w, "%s restored tree: %s\n", t.Label, d)
		}
	}
	r.printGoal(w)
}

// printGoal compares scn (S3) with each peer and with the goal.
func (r *results) printGoal(w io.Writer) {
	scn := r.find(toolScnS3)
	if scn == nil {
		return
	}
	fmt.Fprintln(w)
	var fastSnap, fastRest float64
	for _, peer := range []string{toolAWS, toolRestic} {
		p := r.find(peer)
		if p == nil {
			continue
		}
		fastSnap, fastRest = max(fastSnap, r.mbps(p.Snapshot)), max(fastRest, r.mbps(p.Restore))
		fmt.Fprintf(w, "scn (S3) / %-32s snapshot %5.2fx   restore %5.2fx\n", p.Label, r.mbps(scn.Snapshot)/r.mbps(p.Snapshot), r.mbps(scn.Restore)/r.mbps(p.Restore))
	}
	if c := r.find(toolCeiling); c != nil {
		fmt.Fprintf(w, "scn (S3) / %-32s snapshot %5.2fx   restore %5.2fx\n", c.Label, r.mbps(scn.Snapshot)/r.mbps(c.Snapshot), r.mbps(scn.Restore)/r.mbps(c.Restore))
	}
	if fastSnap > 0 {
		snapRatio, restRatio := r.mbps(scn.Snapshot)/fastSnap, r.mbps(scn.Restore)/fastRest
		fmt.Fprintf(w, "goal: scn ≥ %.1fx the fastest peer: snapshot %.2fx %s, restore %.2fx %s\n",
			goalRatio, snapRatio, metOrNot(snapRatio >= goalRatio), restRatio, metOrNot(restRatio >= goalRatio))
	}
	peak := max(scn.Snapshot.MaxRSS, scn.Restore.MaxRSS)
	note := ""
	if r.Info.Bytes < 1<<30 {
		note = " (the goal is set for a 1 GiB workspace)"
	}
	fmt.Fprintf(w, "goal: scn peak memory < %s: snapshot %s, restore %s %s%s\n",
		fmt.Sprintf("%d MiB", goalMaxRSS>>20), rss(scn.Snapshot.MaxRSS), rss(scn.Restore.MaxRSS), metOrNot(peak < goalMaxRSS), note)
}

func (c cpuSplit) String() string {
	s := "tool " + secs(c.Tool.Seconds())
	if c.Server > 0 {
		s += " + server " + secs(c.Server.Seconds())
	}
	if c.Sandbox > 0 {
		s += " + sandbox " + secs(c.Sandbox.Seconds())
	}
	return s
}

func metOrNot(ok bool) string {
	if ok {
		return "(met)"
	}
	return "(MISSED)"
}

func num(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

func secs(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func rss(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
