package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/cloud/local"
)

func TestMain(m *testing.M) {
	// The test binary is also the sandbox and the scn side, as bin/benchsnap is.
	local.RunIfChild()
	runIfScnChild()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildDir holds the binaries goBuild made for this test process.
var (
	buildDir string
	built    = map[string]string{}
)

// goBuild builds the command in pkg (relative to this package) as name,
// once per test process, without -race whatever the tests run with.
func goBuild(t *testing.T, name, pkg string) string {
	t.Helper()
	if exe, ok := built[pkg]; ok {
		return exe
	}
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "benchsnap-test-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = dir
	}
	exe := filepath.Join(buildDir, name)
	out, err := exec.Command("go", "build", "-o", exe, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = exe
	return exe
}

// testConfig is a tiny bench of the tools this machine has: scn always;
// aws and restic when installed (scripts/bench-snapshot installs them).
func testConfig(t *testing.T) (config, *bytes.Buffer, *bytes.Buffer) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tools := []string{toolCeiling, toolScnS3, toolScnSSH, toolScnDir}
	for bin, tool := range map[string]string{"aws": toolAWS, "restic": toolRestic} {
		if _, err := exec.LookPath(bin); err == nil {
			tools = append(tools, tool)
		} else {
			t.Logf("%s is not installed: not compared", bin)
		}
	}
	tools, _ = parseTools(strings.Join(tools, ","))
	var out, log bytes.Buffer
	return config{Size: 1 << 20, Tools: tools, Runs: 1, Dir: t.TempDir(), AWS: "aws", Restic: "restic",
		S3Serve: goBuild(t, "s3serve", "../s3serve"), Self: self, Out: &out, Log: &log}, &out, &log
}

// alive is true while pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// assertCleanedUp waits (bounded) for the processes to disappear and checks
// the bench's temporary root was removed.
func assertCleanedUp(t *testing.T, dir string, pids map[string]int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for name, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("%s (pid %d) still running after the bench", name, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("the bench left %d entries in %s: %v", len(left), dir, left[0].Name())
	}
}

func TestBenchMeasuresVerifiesAndCleansUp(t *testing.T) {
	cfg, out, log := testConfig(t)
	pids := map[string]int{}
	cfg.afterSetup = func(b *bench) {
		pids["S3 server"], pids["sandbox"] = b.srv.pid(), b.scn.pid()
		if !alive(pids["S3 server"]) || !alive(pids["sandbox"]) {
			t.Errorf("server or sandbox not running during the bench: %v", pids)
		}
	}
	code := benchMain(context.Background(), cfg)
	if code != 0 {
		t.Fatalf("exit %d\nlog:\n%s\nout:\n%s", code, log, out)
	}
	table := out.String()
	for _, tool := range cfg.Tools {
		label := (&bench{}).tool(tool).label()
		line := ""
		for _, l := range strings.Split(table, "\n") {
			if strings.Contains(l, label) {
				line = l
				break
			}
		}
		if !strings.HasSuffix(strings.TrimSpace(line), "identical") {
			t.Errorf("%s: row %q, want a restored tree identical to the workspace\n%s", tool, line, table)
		}
		// The via column says what scn reported: its agent unless the
		// tool streams through scn on purpose.
		wantVia := map[string]string{toolScnS3: " agent ", toolScnDir: " agent ", toolScnSSH: " scn "}[tool]
		if wantVia != "" && !strings.Contains(line, wantVia) {
			t.Errorf("%s: row %q, want via%s", tool, line, wantVia)
		}
	}
	for _, w := range []string{"snapshot MB/s", "restore MB/s", "peak RSS", " via ", "goal: scn's process < 0.5 CPU-s/GiB",
		"goal: scn's process peak RSS < 64 MiB", "goal: the agent's peak RSS < 256 MiB"} {
		if !strings.Contains(table, w) {
			t.Errorf("table lacks %q:\n%s", w, table)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("afterSetup not called: %v", pids)
	}
	assertCleanedUp(t, cfg.Dir, pids)
}

// scn's peak memory (the scn process's own VmHWM) and the agent's (as it
// reports it) stay under their goals for snapshot and restore, on a
// workspace big enough to fill every buffer of both pipelines: the agent's
// upload holds Concurrency+1 parts of 16 MiB, so it needs about 100 MiB of
// compressed output (the workspace is 70% incompressible). Memory is
// bounded whatever the size, so a larger one only takes longer. Streaming
// through scn (no agent) keeps its own bound. The scn side, the agent and
// the sandbox are a normal build, as users run them: the race detector
// (make test) multiplies memory.
func TestScnAndAgentPeakMemoryStayUnderTheGoals(t *testing.T) {
	cfg, out, _ := testConfig(t)
	cfg.Size = 160 << 20
	cfg.Tools = []string{toolScnS3, toolScnSSH, toolScnDir}
	cfg.Self = goBuild(t, "benchsnap", ".")
	// The real agent beside the scn side, as scripts/bench-snapshot puts it.
	goBuild(t, agentctl.BinaryName(runtime.GOOS, runtime.GOARCH), "../../cmd/scn-agent")
	res, err := run(context.Background(), cfg)
	if res != nil {
		res.print(out)
	}
	if err != nil || !res.allVerified() {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	for _, r := range res.Tools {
		wantVia, scnGoal := "agent", int64(goalScnRSS)
		if r.Tool == toolScnSSH {
			wantVia, scnGoal = "scn", goalSSHRSS
		}
		for _, p := range []struct {
			name string
			ph   phase
		}{{"snapshot", r.Snapshot}, {"restore", r.Restore}} {
			switch {
			case p.ph.Via != wantVia:
				t.Errorf("%s %s: via %q, want %q", r.Label, p.name, p.ph.Via, wantVia)
			case p.ph.MaxRSS <= 0:
				t.Errorf("%s %s: no peak RSS measured", r.Label, p.name)
			case p.ph.MaxRSS >= scnGoal:
				t.Errorf("%s %s: scn's peak RSS %s, the goal is below %s", r.Label, p.name, rss(p.ph.MaxRSS), rss(scnGoal))
			case wantVia == "scn":
			case p.ph.SCNBytes != 0:
				t.Errorf("%s %s: %d bytes through scn, want none", r.Label, p.name, p.ph.SCNBytes)
			case p.ph.AgentRSS <= 0 || p.ph.AgentRSS >= goalAgentRSS:
				t.Errorf("%s %s: the agent's peak RSS %s, the goal is below %s", r.Label, p.name, rss(p.ph.AgentRSS), rss(goalAgentRSS))
			}
		}
	}
	t.Logf("%s", out)
}

func TestInterruptedBenchCleansUp(t *testing.T) {
	cfg, _, log := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pids := map[string]int{}
	cfg.afterSetup = func(b *bench) {
		pids["S3 server"], pids["sandbox"] = b.srv.pid(), b.scn.pid()
		cancel() // like Ctrl+C once everything is up
	}
	if code := benchMain(ctx, cfg); code != 130 {
		t.Fatalf("exit %d after interruption, want 130\n%s", code, log)
	}
	if !strings.Contains(log.String(), "interrupted") {
		t.Errorf("log does not say it was interrupted:\n%s", log)
	}
	assertCleanedUp(t, cfg.Dir, pids)
}

func TestMissingToolsNameTheirPackages(t *testing.T) {
	cfg, _, _ := testConfig(t)
	cfg.Tools = []string{toolAWS, toolRestic}
	cfg.AWS, cfg.Restic = "/nonexistent/aws", "/nonexistent/restic"
	err := checkTools(cfg)
	if err == nil || !strings.Contains(err.Error(), "apt-get install awscli") || !strings.Contains(err.Error(), "apt-get install restic") {
		t.Fatalf("checkTools: %v", err)
	}
}

// Runs go in rounds, every tool once per round: the fastest of each tool's
// runs then come from the same stretch of the machine's life.
func TestRunsGoInRounds(t *testing.T) {
	cfg, out, log := testConfig(t)
	cfg.Tools, cfg.Runs = []string{toolCeiling, toolScnDir}, 2
	if code := benchMain(context.Background(), cfg); code != 0 {
		t.Fatalf("exit %d\nlog:\n%s\nout:\n%s", code, log, out)
	}
	var order []string
	for _, l := range strings.Split(log.String(), "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[0] == "run" && f[2] == "of" {
			tool := toolCeiling
			if strings.Contains(l, (&bench{}).tool(toolScnDir).label()) {
				tool = toolScnDir
			}
			order = append(order, f[1]+" "+tool)
		}
	}
	want := []string{"1 " + toolCeiling, "1 " + toolScnDir, "2 " + toolCeiling, "2 " + toolScnDir}
	if strings.Join(order, ", ") != strings.Join(want, ", ") {
		t.Errorf("runs went %q, want %q\nlog:\n%s", order, want, log)
	}
}
