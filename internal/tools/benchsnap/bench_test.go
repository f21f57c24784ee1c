package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/local"
)

func TestMain(m *testing.M) {
	// The test binary is also the sandbox and the scn side, as bin/benchsnap is.
	local.RunIfChild()
	runIfScnChild()
	os.Exit(m.Run())
}

// s3serveBinary builds the S3 server command once per test binary.
func s3serveBinary(t *testing.T) string {
	t.Helper()
	if s3serveBuilt == "" {
		dir, err := os.MkdirTemp("", "benchsnap-s3serve-")
		if err != nil {
			t.Fatal(err)
		}
		exe := filepath.Join(dir, "s3serve")
		out, err := exec.Command("go", "build", "-o", exe, "../s3serve").CombinedOutput()
		if err != nil {
			t.Fatalf("building s3serve: %v\n%s", err, out)
		}
		s3serveBuilt = exe
	}
	return s3serveBuilt
}

var s3serveBuilt string

// testConfig is a tiny bench of the tools this machine has: scn always;
// aws and restic when installed (scripts/bench-snapshot installs them).
func testConfig(t *testing.T) (config, *bytes.Buffer, *bytes.Buffer) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tools := []string{toolCeiling, toolScnS3, toolScnDir}
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
		S3Serve: s3serveBinary(t), Self: self, Out: &out, Log: &log}, &out, &log
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
	}
	for _, w := range []string{"snapshot MB/s", "restore MB/s", "peak RSS", "goal: scn peak memory < 256 MiB"} {
		if !strings.Contains(table, w) {
			t.Errorf("table lacks %q:\n%s", w, table)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("afterSetup not called: %v", pids)
	}
	assertCleanedUp(t, cfg.Dir, pids)
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
