package agentctl_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/agent/wire"
	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/remote/sshtest"
	"github.com/scnlabs/scn/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// machine is a real SSH server on loopback with its own HOME.
type machine struct {
	x    remote.Execer
	srv  *sshtest.Server
	home string
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	key := sshtest.NewKey(t)
	home := t.TempDir()
	srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []string{sshtest.AuthorizedKey(key)}, Home: home})
	c, err := remote.Dial(context.Background(), remote.Endpoint{Host: srv.Host, Port: srv.Port, User: "scn"}, remote.Options{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &machine{x: c, srv: srv, home: home}
}

// installs counts the copies of an agent made to the machine.
func (m *machine) installs() int {
	n := 0
	for _, c := range m.srv.Execs() {
		if strings.Contains(c, `mv -f "$t"`) {
			n++
		}
	}
	return n
}

func agentBinary(t *testing.T) (dir, path, sum string) {
	t.Helper()
	dir, err := testbin.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, agentctl.BinaryName(runtime.GOOS, runtime.GOARCH))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return dir, path, hex.EncodeToString(h[:])
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// start starts the agent and checks it is the real one, saying hello.
func start(t *testing.T, l *agentctl.Launcher, m *machine) {
	t.Helper()
	s, err := l.Start(ctx(t), m.x, "m")
	if err != nil {
		t.Fatal(err)
	}
	if s.Hello.Type != wire.Hello || s.Hello.OS != runtime.GOOS || s.Hello.Arch != runtime.GOARCH || s.Hello.Version != wire.Version {
		t.Fatalf("hello = %+v", s.Hello)
	}
	s.Close()
	select {
	case <-s.Done():
	default:
		t.Fatal("the agent's session is still open after Close")
	}
}

// The agent is copied once, content-addressed in ~/.cache/scn, and reused
// by later steps and by later scn processes.
func TestInstallsOnceAndReuses(t *testing.T) {
	dir, _, sum := agentBinary(t)
	m := newMachine(t)
	l := agentctl.New(agentctl.Binaries{Dir: dir})
	start(t, l, m)
	installed := filepath.Join(m.home, ".cache", "scn", "agent-"+sum)
	fi, err := os.Stat(installed)
	if err != nil {
		t.Fatalf("the agent is not at ~/.cache/scn/agent-<sha256>: %v", err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("installed with mode %v", fi.Mode().Perm())
	}
	start(t, l, m)
	start(t, agentctl.New(agentctl.Binaries{Dir: dir}), m) // another scn process, a later run
	if n := m.installs(); n != 1 {
		t.Fatalf("the agent was copied %d times; want once", n)
	}
	if entries, _ := os.ReadDir(filepath.Dir(installed)); len(entries) != 1 {
		t.Errorf("~/.cache/scn holds %d entries; want only the agent (no temporary copies)", len(entries))
	}
}

// A binary that does not match its name's hash is replaced, never run.
func TestTamperedAgentIsReplacedNeverRun(t *testing.T) {
	dir, path, sum := agentBinary(t)
	m := newMachine(t)
	start(t, agentctl.New(agentctl.Binaries{Dir: dir}), m)
	installed := filepath.Join(m.home, ".cache", "scn", "agent-"+sum)
	marker := filepath.Join(m.home, "tampered-agent-ran")
	evil := "#!/bin/sh\ntouch " + marker + "\necho '{\"type\":\"hello\",\"version\":1}'\nsleep 5\n"
	if err := os.WriteFile(installed, []byte(evil), 0o700); err != nil {
		t.Fatal(err)
	}
	start(t, agentctl.New(agentctl.Binaries{Dir: dir}), m)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the tampered agent ran")
	}
	got, err := os.ReadFile(installed)
	want, _ := os.ReadFile(path)
	if err != nil || string(got) != string(want) {
		t.Fatal("the tampered agent was not replaced by the real one")
	}
	if n := m.installs(); n != 2 {
		t.Fatalf("%d copies; want 2 (the first, and the replacement)", n)
	}
}

// scn's own executable goes when no agent binary fits but the machine's
// OS/arch are scn's.
func TestSendsSelfWhenNoAgentBeside(t *testing.T) {
	_, path, _ := agentBinary(t)
	m := newMachine(t)
	start(t, agentctl.New(agentctl.Binaries{Dir: t.TempDir(), Self: path}), m)
}

// When no agent can run, Start says why with ErrUnavailable (the caller
// falls back to streaming through scn) and does not try again on that
// machine.
func TestUnavailable(t *testing.T) {
	for name, tc := range map[string]struct {
		bins  func(t *testing.T) agentctl.Binaries
		setup func(t *testing.T, home string)
		want  string
	}{
		"no binary for the platform": {
			bins: func(t *testing.T) agentctl.Binaries { return agentctl.Binaries{Dir: t.TempDir()} },
			want: "the machine is " + runtime.GOOS + "/" + runtime.GOARCH + " and there is no agent for it",
		},
		"no room in its home": {
			bins: func(t *testing.T) agentctl.Binaries { dir, _, _ := agentBinary(t); return agentctl.Binaries{Dir: dir} },
			setup: func(t *testing.T, home string) {
				// ~/.cache/scn is a file: nothing can be written there.
				if err := os.MkdirAll(filepath.Join(home, ".cache"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(home, ".cache", "scn"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: "copying it to the machine failed",
		},
		"a binary that cannot run there": {
			bins: func(t *testing.T) agentctl.Binaries {
				dir := t.TempDir()
				bad := filepath.Join(dir, agentctl.BinaryName(runtime.GOOS, runtime.GOARCH))
				if err := os.WriteFile(bad, []byte("exit 3\n"), 0o755); err != nil {
					t.Fatal(err)
				}
				return agentctl.Binaries{Dir: dir}
			},
			want: "the agent exited 3",
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := newMachine(t)
			if tc.setup != nil {
				tc.setup(t, m.home)
			}
			l := agentctl.New(tc.bins(t))
			_, err := l.Start(ctx(t), m.x, "m")
			if !errors.Is(err, agentctl.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start = %v; want ErrUnavailable saying %q", err, tc.want)
			}
			execs := len(m.srv.Execs())
			if _, err2 := l.Start(ctx(t), m.x, "m"); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("second Start = %v", err2)
			}
			if len(m.srv.Execs()) != execs {
				t.Error("the second Start tried the machine again")
			}
		})
	}
}

// scn's own executable serves `scn agent` (the hidden subcommand): sent
// when nothing else fits, it speaks the protocol like scn-agent.
func TestSCNItselfServesAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/scn")
	}
	scn, err := testbin.SCN()
	if err != nil {
		t.Fatal(err)
	}
	m := newMachine(t)
	start(t, agentctl.New(agentctl.Binaries{Dir: t.TempDir(), Self: scn}), m)
}
