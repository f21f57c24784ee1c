// Package testbin builds the scn binary for tests that run the real CLI
// (signals, exit codes, what a run writes), and scn's agent for tests that
// put it on machines (AgentDir). It builds once per test
// process and, before building, reads every Go source file of the module:
// go test's result cache only knows about files a test opens, so without
// that an edited cmd/scn would leave a stale "(cached) ok". Call SCN from
// a test, not from TestMain before m.Run: go test records opened files
// only while tests run.
//
// The binary is built the way the test itself was: with -race when the
// test runs under -race (make test), so the scn processes a test starts —
// and the sandboxes they start, which are the same binary — are
// race-checked like the test's own code. RaceLog collects what they report.
package testbin

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	mu       sync.Mutex
	built    string
	tmpDir   string
	agentBin string
)

// SCN returns the path of a freshly built cmd/scn, building it on first
// use. The binary lives in a temporary directory removed by Cleanup.
func SCN() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if built != "" {
		return built, nil
	}
	root, goCmd, err := prepare()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmpDir, "scn")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if err := goBuild(root, goCmd, nil, append(args, "./cmd/scn")...); err != nil {
		return "", err
	}
	built = bin
	return bin, nil
}

var static string

// StaticSCN returns a static cmd/scn for linux on this machine's
// architecture (CGO_ENABLED=0, never -race, as `make image` builds it),
// building it on first use: what tests put in a container image.
func StaticSCN() (string, error) {
	return buildOnce(&static, filepath.Join("static", "scn"), []string{"CGO_ENABLED=0", "GOOS=linux"}, "-trimpath", "./cmd/scn")
}

// buildOnce runs `go build -o NAME args...` (flags, then the package)
// into the binaries' directory once per process: *cached keeps the path.
func buildOnce(cached *string, name string, env []string, args ...string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if *cached != "" {
		return *cached, nil
	}
	root, goCmd, err := prepare()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmpDir, name)
	if err := goBuild(root, goCmd, env, append([]string{"build", "-o", bin}, args...)...); err != nil {
		return "", err
	}
	*cached = bin
	return bin, nil
}

// AgentDir returns a directory holding scn's agent built for this machine
// (cmd/scn-agent, static, named as `make build` names it), building it on
// first use: what agentctl.Binaries.Dir points tests' machines at. It is
// the directory of the scn binaries SCN builds, so they find the agent
// beside them as bin/scn does.
func AgentDir() (string, error) {
	bin, err := buildOnce(&agentBin, "scn-agent-"+runtime.GOOS+"-"+runtime.GOARCH, []string{"CGO_ENABLED=0"}, "-trimpath", "./cmd/scn-agent")
	if err != nil {
		return "", err
	}
	return filepath.Dir(bin), nil
}

// prepare finds the module and the go command, makes go test record every
// source as an input, and makes the directory binaries go to.
func prepare() (root, goCmd string, err error) {
	if root, err = moduleRoot(); err != nil {
		return "", "", err
	}
	if err := touchSources(root); err != nil {
		return "", "", err
	}
	if goCmd, err = exec.LookPath("go"); err != nil {
		return "", "", fmt.Errorf("the go command is not on PATH: it builds the binaries these tests run")
	}
	if tmpDir == "" {
		if tmpDir, err = os.MkdirTemp("", "scn-testbin-"); err != nil {
			return "", "", err
		}
	}
	return root, goCmd, nil
}

func goBuild(root, goCmd string, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a cold -race build on a loaded 2-core machine
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = root
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Cleanup removes the binaries; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// touchSources opens every non-test Go file and go.mod/go.sum, so go test
// records them as inputs of the calling test's result.
func touchSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) || name == "go.mod" || name == "go.sum" {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			return f.Close()
		}
		return nil
	})
}

// RaceLog makes the data races of the processes a test starts fail the
// test. Under -race it returns the environment entry (GORACE=log_path=...)
// that has every race-built process — scn and the detached sandboxes it
// starts, which pass GORACE on and whose output no test reads — write its
// reports to files in a directory of the test's, and checks that directory
// when the test ends. Call it before registering the cleanups that stop
// those processes, so the check runs after them. Without -race it returns
// nil and checks nothing.
func RaceLog(t testing.TB) []string {
	if !raceEnabled {
		return nil
	}
	prefix := filepath.Join(t.TempDir(), "race") // the runtime writes race.<pid>
	t.Cleanup(func() {
		reports, _ := filepath.Glob(prefix + ".*")
		for _, r := range reports {
			b, _ := os.ReadFile(r)
			t.Errorf("a process the test started (pid %s) reported a data race:\n%s", strings.TrimPrefix(filepath.Ext(r), "."), b)
		}
	})
	return []string{"GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" log_path="+prefix)}
}
