package sshpool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
)

// childEnv, when set in the environment, turns the test binary into a
// competing scn process: it builds a Provider on the state directory named
// by the variable, says "ready", waits for "go" on stdin, tries to lease
// gpu1 and prints "won" or "lost: <error>".
const childEnv = "SSHPOOL_TEST_CHILD_STATE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(childMain(dir))
	}
	os.Exit(m.Run())
}

func childMain(dir string) int {
	p := New(Options{StateDir: dir, Hosts: testHosts()})
	fmt.Println("ready")
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "go\n" {
		fmt.Println("no go:", line, err)
		return 2
	}
	label := fmt.Sprintf("scn-20260101-000000-%04x-gpu", os.Getpid()&0xffff)
	if _, err := p.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}, Label: label}); err != nil {
		var gone *cloud.OfferGoneError
		if !errors.As(err, &gone) {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("lost:", err)
		return 0
	}
	fmt.Println("won")
	return 0
}

type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startChild(t *testing.T, ctx context.Context, dir string) *child {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	if line, err := c.out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("child %d did not get ready: %q, %v", cmd.Process.Pid, line, err)
	}
	return c
}

// TestLeaseExclusiveAcrossProcesses races separate processes for one host:
// exactly one gets it, and once it has exited a third taker is told who
// holds the host, that the holder is gone, and how to free it.
func TestLeaseExclusiveAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 4
	children := make([]*child, n)
	for i := range children {
		children[i] = startChild(t, ctx, dir)
	}
	for _, c := range children { // all are waiting on stdin: release them together
		if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	winner := 0
	for _, c := range children {
		line, _ := c.out.ReadString('\n')
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v (%q)", c.cmd.Process.Pid, err, line)
		}
		switch {
		case line == "won\n":
			if winner != 0 {
				t.Fatalf("processes %d and %d both leased gpu1", winner, c.cmd.Process.Pid)
			}
			winner = c.cmd.Process.Pid
		case !strings.HasPrefix(line, "lost: "):
			t.Fatalf("child %d said %q", c.cmd.Process.Pid, line)
		}
	}
	if winner == 0 {
		t.Fatal("no process leased gpu1")
	}

	p := New(Options{StateDir: dir, Hosts: testHosts()})
	_, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}, Label: "scn-late-gpu"})
	var gone *cloud.OfferGoneError
	if !errors.As(err, &gone) {
		t.Fatalf("lease after the race: err = %v, want OfferGoneError", err)
	}
	runID := fmt.Sprintf("20260101-000000-%04x", winner&0xffff)
	for _, s := range []string{"pid " + strconv.Itoa(winner), "process has exited", "scn cleanup --run " + runID} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if err := p.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	create(t, p, "gpu1", "scn-late-gpu")
}
