// Command benchsnap is `make bench-snapshot` (scripts/bench-snapshot builds
// and runs it): it generates a workspace, then times on this machine, with
// the same data and the same S3 server (s3serve, started as a child process
// on 127.0.0.1), scn's snapshot and restore through a local sandbox (real
// SSH on loopback, the real pipeline, the S3 store and the directory store)
// — with scn's agent moving the bytes on the machine, and for comparison
// streamed through scn's process over SSH (its fallback) — against
// `tar | lz4 -1 | aws s3 cp -` and `restic backup`/`restore`, next to the
// machine's ceiling (`tar | lz4 -1 > /dev/null`). Every restored tree is
// compared with the workspace, file by file, before its numbers count.
// It prints MB/s, the path the bytes took (the via column, as scn
// reported it), the scn/peer ratios, CPU seconds, scn's own CPU seconds
// per GiB and peak memory (the scn process runs as a child of the bench and
// reports its own VmHWM) and the agent's (which reports its VmHWM to scn)
// against the goals, printing MISSED where one is not met; speed is only
// reported, but the package's test fails when a memory goal is missed.
// Everything it starts — the server, the sandbox, the temporary data — is
// removed when it ends, also on Ctrl+C.
//
// Settings come from the environment (the Makefile passes them through):
//
//	BENCH_SIZE=1G        workspace size (K, M, G suffixes, powers of 1024)
//	BENCH_TOOLS=...      comma list from ceiling,scn-s3,scn-ssh,scn-dir,aws,restic (default: all)
//	BENCH_RUNS=1         repeat each measurement and keep the fastest
//	BENCH_DIR=$TMPDIR    where the temporary data goes
//	BENCH_PROFILE=DIR    write CPU and heap profiles of the scn processes to DIR
//	BENCH_SCN_ENV="GOGC=50 GOMEMLIMIT=128MiB"  extra environment of the scn processes only
//	BENCH_AWS=aws        the aws CLI to run; BENCH_RESTIC=restic likewise
//	BENCH_S3SERVE=PATH   the s3serve binary (default: next to this one)
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/scnlabs/scn/internal/cloud/local"
)

// allTools are the measurements, in the order they run.
var allTools = []string{toolCeiling, toolScnS3, toolScnSSH, toolScnDir, toolAWS, toolRestic}

const (
	toolCeiling = "ceiling"
	toolScnS3   = "scn-s3"  // S3 store, scn's agent on the machine
	toolScnSSH  = "scn-ssh" // S3 store, the bytes through scn over SSH (no agent)
	toolScnDir  = "scn-dir" // directory store shared with the sandbox, the agent
	toolAWS     = "aws"
	toolRestic  = "restic"
)

// config is one bench run.
type config struct {
	Size    int64    // workspace bytes (file contents)
	Tools   []string // subset of allTools
	Runs    int      // each measurement is repeated, the fastest kept
	Dir     string   // parent of the temporary root
	Profile string   // directory for pprof files of the scn processes ("" = none)
	ScnEnv  []string // extra KEY=VALUE for the scn processes (runtime tuning experiments)
	AWS     string
	Restic  string
	S3Serve string
	Self    string    // this binary: the sandbox and the scn side run it
	Out     io.Writer // the table
	Log     io.Writer // progress

	// afterSetup, when set, runs once the server and sandbox are up (tests
	// use it to see the processes and to interrupt a run halfway).
	afterSetup func(*bench)
}

func main() {
	// The sandbox and the scn side of each measurement are this binary.
	local.RunIfChild()
	runIfScnChild()

	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-snapshot:", err)
		os.Exit(2)
	}
	ctx, stop := interruptible()
	defer stop()
	os.Exit(benchMain(ctx, cfg))
}

// benchMain runs the bench and turns the outcome into an exit code: 0 when
// every tool ran and restored an identical tree (the goal is reported, not
// enforced), 1 otherwise, 130 when interrupted.
func benchMain(ctx context.Context, cfg config) int {
	res, err := run(ctx, cfg)
	if res != nil {
		res.print(cfg.Out)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(cfg.Log, "bench-snapshot: interrupted; everything it started was removed")
		return 130
	case err != nil:
		fmt.Fprintln(cfg.Log, "bench-snapshot:", err)
		return 1
	case !res.allVerified():
		fmt.Fprintln(cfg.Log, "bench-snapshot: some restored trees differ from the workspace: their numbers mean nothing")
		return 1
	}
	return 0
}

// interruptible cancels its context on SIGINT or SIGTERM and keeps catching
// them afterwards, so a second Ctrl+C cannot cut the cleanup short (the
// sandbox is a detached process that would outlive us).
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range sig {
			if n++; n == 1 {
				fmt.Fprintln(os.Stderr, "\nbench-snapshot: interrupted, cleaning up...")
			} else {
				fmt.Fprintln(os.Stderr, "bench-snapshot: still cleaning up (the sandbox and server must go)")
			}
			cancel()
		}
	}()
	return ctx, func() { signal.Stop(sig); cancel() }
}

func configFromEnv(getenv func(string) string) (config, error) {
	self, err := os.Executable()
	if err != nil {
		return config{}, fmt.Errorf("finding this binary: %w", err)
	}
	cfg := config{
		Size: 1 << 30, Tools: allTools, Runs: 1, Dir: os.TempDir(), Profile: getenv("BENCH_PROFILE"),
		AWS: cmp.Or(getenv("BENCH_AWS"), "aws"), Restic: cmp.Or(getenv("BENCH_RESTIC"), "restic"),
		S3Serve: cmp.Or(getenv("BENCH_S3SERVE"), filepath.Join(filepath.Dir(self), "s3serve")),
		Self:    self, Out: os.Stdout, Log: os.Stderr,
	}
	if v := getenv("BENCH_SIZE"); v != "" {
		if cfg.Size, err = parseSize(v); err != nil {
			return cfg, fmt.Errorf("BENCH_SIZE=%s: %v", v, err)
		}
	}
	if v := getenv("BENCH_TOOLS"); v != "" {
		if cfg.Tools, err = parseTools(v); err != nil {
			return cfg, fmt.Errorf("BENCH_TOOLS=%s: %v", v, err)
		}
	}
	if v := getenv("BENCH_RUNS"); v != "" {
		if cfg.Runs, err = strconv.Atoi(v); err != nil || cfg.Runs < 1 {
			return cfg, fmt.Errorf("BENCH_RUNS=%s: want a whole number of at least 1", v)
		}
	}
	for _, kv := range strings.Fields(getenv("BENCH_SCN_ENV")) {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return cfg, fmt.Errorf("BENCH_SCN_ENV: %q is not KEY=VALUE", kv)
		}
		cfg.ScnEnv = append(cfg.ScnEnv, kv)
	}
	if v := getenv("BENCH_DIR"); v != "" {
		cfg.Dir = v
	}
	if cfg.Profile != "" {
		if cfg.Profile, err = filepath.Abs(cfg.Profile); err != nil {
			return cfg, fmt.Errorf("BENCH_PROFILE: %v", err)
		}
	}
	return cfg, nil
}

// parseSize reads 1G, 256M, 512K or a byte count (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	num = strings.TrimSuffix(num, "I") // GiB, MiB
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			num = num[:n-1]
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("not a size: write e.g. 1G, 256M or 64M")
	}
	size := int64(f * float64(mult))
	if size < minSize {
		return 0, fmt.Errorf("at least %d KiB, to hold every kind of entry", minSize>>10)
	}
	return size, nil
}

func parseTools(s string) ([]string, error) {
	want := map[string]bool{}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		known := false
		for _, a := range allTools {
			known = known || a == t
		}
		if !known {
			return nil, fmt.Errorf("unknown tool %q: choose from %s", t, strings.Join(allTools, ","))
		}
		want[t] = true
	}
	var tools []string
	for _, a := range allTools { // always in the canonical order
		if want[a] {
			tools = append(tools, a)
		}
	}
	if len(tools) == 0 {
		return nil, fmt.Errorf("no tool given")
	}
	return tools, nil
}

// cpus is what the table says about the machine.
func cpus() string {
	return fmt.Sprintf("%d CPUs, GOMAXPROCS %d", runtime.NumCPU(), runtime.GOMAXPROCS(0))
}
