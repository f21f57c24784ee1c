package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// bench is one run's shared state.
type bench struct {
	cfg       config
	root      string // temporary root: everything the bench writes is below
	ws        string // the workspace
	awsConfig string
	info      workspaceInfo
	want      []treeEntry // the workspace's entries, what every restore must give back
	srv       *s3Server
	scn       *scnSetup
}

// phase is the best of one tool's snapshots or restores.
type phase struct {
	Wall   time.Duration // fastest run
	CPU    cpuSplit      // of that run
	MaxRSS int64         // over all runs: the measured process (or its largest child)
	// scn only: as scn reported them (see usage)
	Via      string
	SCNBytes int64
	AgentRSS int64 // over all runs
}

// cpuSplit is the CPU time of every process involved in one measurement.
type cpuSplit struct {
	Tool    time.Duration // the command (and its pipeline, or for scn its process)
	Server  time.Duration // the S3 server
	Sandbox time.Duration // for scn: the sandbox's SSH server and the commands it ran (tar)
	// Steal is CPU the host gave others meanwhile while this VM's CPUs
	// wanted to run: not the tool's, so not in total, but a run that lost
	// some says so.
	Steal time.Duration
}

func (c cpuSplit) total() time.Duration { return c.Tool + c.Server + c.Sandbox }

// toolResult is one row of the table.
type toolResult struct {
	Tool, Label       string
	Snapshot, Restore phase
	Stored            int64
	Diffs             []string // how a restored tree differed from the workspace
	Err               error
}

func (t *toolResult) ok() bool { return t.Err == nil && len(t.Diffs) == 0 }

// results is the whole table.
type results struct {
	Info     workspaceInfo
	Endpoint string
	Versions []string
	Runs     int
	Tools    []*toolResult

	LoadStart, LoadEnd string        // 1-minute load averages: was anything else running before?
	FreshMemory        float64       // MB/s at which the machine hands out never-touched memory
	BenchRSS           int64         // the bench's own RSS: the floor of the peers' peak RSS
	Steal              time.Duration // CPU the host took from this VM while the bench ran (after the workspace was generated)
	ScnEnv             []string
}

func (r *results) allVerified() bool {
	for _, t := range r.Tools {
		if !t.ok() {
			return false
		}
	}
	return true
}

// run does the whole bench and always removes what it started and wrote,
// whatever happens (the cleanups run even when ctx is cancelled).
func run(ctx context.Context, cfg config) (res *results, err error) {
	if err := checkTools(cfg); err != nil {
		return nil, err
	}
	cfg.Log = &syncWriter{w: cfg.Log} // the S3 server's stderr goes there too
	loadStart := loadAverage()        // before the bench adds its own
	b := &bench{cfg: cfg}
	if b.root, err = os.MkdirTemp(cfg.Dir, "scn-bench-"); err != nil {
		return nil, err
	}
	defer func() {
		if rerr := os.RemoveAll(b.root); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", b.root, rerr))
		}
	}()
	b.ws = filepath.Join(b.root, "workspace")
	b.awsConfig = filepath.Join(b.root, "aws-config")
	if err := os.WriteFile(b.awsConfig, []byte(awsConfigText), 0o600); err != nil {
		return nil, err
	}

	// The workspace, and every restored tree until the end (measureRun).
	if err := enoughSpace(b.root, cfg.Size*int64(1+len(cfg.Tools)*cfg.Runs)*11/10); err != nil {
		return nil, err
	}
	start := time.Now()
	fmt.Fprintf(cfg.Log, "generating a %s workspace in %s ...\n", mib(cfg.Size), b.ws)
	if b.info, err = generate(b.ws, cfg.Size, 1); err != nil {
		return nil, err
	}
	if b.want, err = listTree(b.ws); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "  %s (%.1fs)\n", b.info, time.Since(start).Seconds())
	res = &results{Info: b.info, Runs: cfg.Runs, ScnEnv: cfg.ScnEnv, Versions: versions(ctx, cfg), LoadStart: loadStart, FreshMemory: freshMemoryMBps(64 << 20)}
	steal := stolen()
	defer func() { res.LoadEnd, res.BenchRSS, res.Steal = loadAverage(), statusBytes("VmRSS"), stolen()-steal }()

	if needs(cfg.Tools, toolScnS3, toolScnSSH, toolAWS, toolRestic) {
		// Stored data is at most the workspace plus tar headers; small
		// objects take a whole 1 MiB chunk each.
		prefault := cfg.Size + cfg.Size/10 + 32<<20
		fmt.Fprintf(cfg.Log, "starting the S3 server (making %s of its memory resident) ...\n", mib(prefault))
		if b.srv, err = startS3(ctx, cfg.S3Serve, prefault, cfg.Log); err != nil {
			return res, err
		}
		defer func() {
			if serr := b.srv.stop(); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
		res.Endpoint = b.srv.Endpoint
	}
	if needs(cfg.Tools, toolScnS3, toolScnSSH, toolScnDir) {
		endpoint := ""
		if b.srv != nil {
			endpoint = b.srv.Endpoint
		}
		if b.scn, err = startSandbox(ctx, b.root, endpoint, cfg.Self); err != nil {
			return res, err
		}
		defer func() {
			if derr := b.scn.destroy(); derr != nil {
				err = errors.Join(err, derr)
			}
		}()
		fmt.Fprintf(cfg.Log, "sandbox %s serving SSH on 127.0.0.1\n", b.scn.Instance)
	}
	if cfg.afterSetup != nil {
		cfg.afterSetup(b)
	}
	// Runs go in rounds, every tool once per round, so that the fastest
	// of each tool's runs come from the same stretch of the machine's
	// life: this VM's speed drifts by a fifth within minutes, and a tool
	// measured only at its end would be judged by it.
	tools := make([]tool, len(cfg.Tools))
	for i, name := range cfg.Tools {
		tools[i] = b.tool(name)
		res.Tools = append(res.Tools, &toolResult{Tool: name, Label: tools[i].label()})
	}
	for run := 1; run <= cfg.Runs; run++ {
		for i, r := range res.Tools {
			if r.ok() {
				b.measureRun(ctx, tools[i], r, run)
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
	}
	for _, r := range res.Tools {
		b.logResult(r)
	}
	return res, nil
}

func (b *bench) tool(name string) tool {
	switch name {
	case toolCeiling:
		return &ceiling{b: b}
	case toolScnS3:
		return &scnTool{b: b, target: targetS3, agent: true, name: name, sizes: map[int]int64{}}
	case toolScnSSH:
		return &scnTool{b: b, target: targetS3, name: name, sizes: map[int]int64{}}
	case toolScnDir:
		return &scnTool{b: b, target: targetDir, agent: true, name: name, sizes: map[int]int64{}}
	case toolAWS:
		return &awsTool{b: b}
	default:
		return &resticTool{b: b}
	}
}

// measureRun runs t's snapshot and restore once (run), checks the
// restored tree and keeps the fastest of r's runs.
func (b *bench) measureRun(ctx context.Context, t tool, r *toolResult, run int) {
	dest := filepath.Join(b.root, fmt.Sprintf("restore-%s-%d", r.Tool, run))
	r.Err = b.oneRun(ctx, t, r, run, dest)
	if cerr := t.clear(context.WithoutCancel(ctx), run); cerr != nil && r.Err == nil {
		r.Err = fmt.Errorf("removing what %s stored: %w", r.Tool, cerr)
	}
	// The restored tree stays until the bench ends (b.root goes then):
	// deleting its 10,000s of files here would make the next restore
	// pay for it. ext4 without a journal (this project's build
	// machines) skips inodes freed in the last 60 s when it makes
	// new ones, and perf showed that scan (recently_deleted) taking
	// a third of the restore that followed a deletion.
	// Dirty pages of this run are not the next one's problem.
	syscall.Sync()
}

// logResult prints a tool's line: its fastest times and whether every
// restored tree was the workspace.
func (b *bench) logResult(r *toolResult) {
	status := "restored tree identical"
	switch {
	case r.Err != nil:
		status = "FAILED: " + r.Err.Error()
	case len(r.Diffs) > 0:
		status = "restored tree DIFFERS: " + strings.Join(r.Diffs, "; ")
	}
	fmt.Fprintf(b.cfg.Log, "%-42s snapshot %6.2fs  restore %6.2fs  %s\n", r.Label, r.Snapshot.Wall.Seconds(), r.Restore.Wall.Seconds(), status)
}

func (b *bench) oneRun(ctx context.Context, t tool, r *toolResult, run int, dest string) (err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = errors.New("interrupted")
		}
	}()
	_, viaSandbox := t.(*scnTool)
	u, cpu, err := b.timed(viaSandbox, func() (usage, error) { return t.snapshot(ctx, run) })
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	keep(&r.Snapshot, u, cpu)
	if r.Stored, err = t.stored(ctx, run); err != nil {
		return err
	}
	snapWall, snapCPU := u.Wall, cpu
	u, cpu, err = b.timed(viaSandbox, func() (usage, error) { return t.restore(ctx, run, dest) })
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	keep(&r.Restore, u, cpu)
	// Each run's CPU too, of every process it ran, with the server's share
	// named (every tool pays it): a slow run that spent more CPU did more
	// work (memory touched for the first time, a cold cache), one that did
	// not waited. The steal shows a run the host slowed down.
	fmt.Fprintf(b.cfg.Log, "  run %d of %d  %-40s snapshot %6.2fs %5.2f CPU-s (server %4.2f, steal %4.2f)  restore %6.2fs %5.2f CPU-s (server %4.2f, steal %4.2f)\n",
		run, b.cfg.Runs, r.Label, snapWall.Seconds(), snapCPU.total().Seconds(), snapCPU.Server.Seconds(), snapCPU.Steal.Seconds(),
		u.Wall.Seconds(), cpu.total().Seconds(), cpu.Server.Seconds(), cpu.Steal.Seconds())
	got, err := listTree(dest)
	if err != nil {
		return fmt.Errorf("checking the restored tree: %w", err)
	}
	r.Diffs = compareTrees(b.want, got, 5)
	return nil
}

// timed runs f and adds the CPU the S3 server and, for scn, the sandbox
// spent meanwhile.
func (b *bench) timed(viaSandbox bool, f func() (usage, error)) (usage, cpuSplit, error) {
	var server, sandbox *cpuMeter
	if b.srv != nil {
		server = startCPU(b.srv.pid())
	}
	if viaSandbox {
		sandbox = startCPU(b.scn.pid())
	}
	steal := stolen()
	u, err := f()
	cpu := cpuSplit{Tool: u.CPU, Steal: stolen() - steal}
	if server != nil {
		cpu.Server = server.stop()
	}
	if sandbox != nil {
		cpu.Sandbox = sandbox.stop()
	}
	return u, cpu, err
}

func keep(p *phase, u usage, cpu cpuSplit) {
	if p.Wall == 0 || u.Wall < p.Wall {
		p.Wall, p.CPU, p.Via, p.SCNBytes = u.Wall, cpu, u.Via, u.SCNBytes
	}
	p.MaxRSS = max(p.MaxRSS, u.MaxRSS)
	p.AgentRSS = max(p.AgentRSS, u.AgentRSS)
}

func needs(tools []string, any ...string) bool {
	for _, t := range any {
		if slices.Contains(tools, t) {
			return true
		}
	}
	return false
}

// checkTools fails early, naming the Debian packages to install.
func checkTools(cfg config) error {
	need := map[string]string{"bash": "bash", "tar": "tar", "lz4": "lz4"}
	if slices.Contains(cfg.Tools, toolAWS) {
		need[cfg.AWS] = "awscli"
	}
	if slices.Contains(cfg.Tools, toolRestic) {
		need[cfg.Restic] = "restic"
	}
	var missing []string
	for bin, pkg := range need {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", bin, pkg))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing tools: %s; or leave them out with BENCH_TOOLS", strings.Join(missing, ", "))
	}
	return nil
}

// versions names the programs measured, for the table's header.
func versions(ctx context.Context, cfg config) []string {
	probes := [][]string{{"tar", "--version"}, {"lz4", "-V"}}
	if slices.Contains(cfg.Tools, toolAWS) {
		probes = append(probes, []string{cfg.AWS, "--version"})
	}
	if slices.Contains(cfg.Tools, toolRestic) {
		probes = append(probes, []string{cfg.Restic, "version"})
	}
	var out []string
	for _, p := range probes {
		b, _ := exec.CommandContext(ctx, p[0], p[1:]...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		out = append(out, strings.Trim(line, "* "))
	}
	return out
}

// syncWriter serialises writes from the bench and its children's output.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// enoughSpace fails when dir's filesystem has less than need bytes free.
func enoughSpace(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space in %s: %w", dir, err)
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < need { // Bsize is uint32 on macOS
		return fmt.Errorf("%s has %s free; the workspace and the restored trees, kept until the end, need %s (set BENCH_DIR, or fewer BENCH_TOOLS or BENCH_RUNS)",
			dir, mib(free), mib(need))
	}
	return nil
}
