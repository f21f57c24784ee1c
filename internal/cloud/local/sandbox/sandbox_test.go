package sandbox_test

import (
	"encoding/json"
	"io"
	"log"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
	"github.com/scnlabs/scn/internal/remote"
	"golang.org/x/crypto/ssh"
)

func TestFaultsJSONUsesDurationStrings(t *testing.T) {
	f := sandbox.Faults{BootDelay: 1500 * time.Millisecond, RefuseSSHFor: 2 * time.Second, PreemptAfter: time.Minute, LinkBytesPerSec: 262144}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"boot_delay":"1.5s","refuse_ssh_for":"2s","preempt_after":"1m0s","link_bytes_per_sec":262144}`
	if string(b) != want {
		t.Fatalf("faults JSON %s, want %s", b, want)
	}
	var back sandbox.Faults
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for _, bad := range []string{`{"boot_delay":"soon"}`, `{"preempt_after":"-1s"}`, `{"link_bytes_per_sec":-5}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// rawClient connects a plain x/crypto client to a fresh in-process server.
func rawClient(t *testing.T) *ssh.Client {
	t.Helper()
	return clientOf(t, sandbox.Config{Env: map[string]string{"FROM_CONFIG": "cfg"}})
}

// clientOf is rawClient for a server with cfg (the client's key is added).
func clientOf(t *testing.T, cfg sandbox.Config) *ssh.Client {
	t.Helper()
	dir := t.TempDir()
	host, err := remote.LoadOrCreateKey(dir + "/host")
	if err != nil {
		t.Fatal(err)
	}
	user, err := remote.LoadOrCreateKey(dir + "/user")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthorizedKeys = append(cfg.AuthorizedKeys, user.AuthorizedKey)
	srv, err := sandbox.NewServer(dir, cfg, host.Signer, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{User: "u", Auth: []ssh.AuthMethod{ssh.PublicKeys(user.Signer)},
		HostKeyCallback: ssh.FixedHostKey(host.Signer.PublicKey()), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestServerRefusesShellAndPty(t *testing.T) {
	c := rawClient(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err == nil {
		t.Fatal("pty granted")
	}
	if err := s.Shell(); err == nil {
		t.Fatal("shell granted")
	}
}

func TestServerHonoursEnvRequests(t *testing.T) {
	c := rawClient(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Setenv("FROM_CLIENT", "cli"); err != nil {
		t.Fatal(err)
	}
	out, err := s.Output(`echo "$FROM_CLIENT $FROM_CONFIG"; test -d "$HOME" && test "$HOME" != "$SCN_WORKSPACE" && echo home-ok`)
	if err != nil || string(out) != "cli cfg\nhome-ok\n" {
		t.Fatalf("environment: %q, %v", out, err)
	}
}

func TestServerRejectsUnknownKey(t *testing.T) {
	c := rawClient(t)
	other, err := remote.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssh.Dial("tcp", c.RemoteAddr().String(), &ssh.ClientConfig{User: "u", Auth: []ssh.AuthMethod{ssh.PublicKeys(other.Signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unknown key: %v", err)
	}
}

// The sandbox's nvidia-smi answers the calls drills make as the driver of
// the GPUs it was rented with would; a sandbox without GPUs has none, even
// on a host that has one.
func TestNvidiaSMIStandIn(t *testing.T) {
	c := clientOf(t, sandbox.Config{GPU: &sandbox.GPU{Name: "NVIDIA GeForce RTX 4090", Count: 2, MemoryMiB: 24564, Driver: "550.54.15"}})
	for _, tc := range []struct{ cmd, want string }{
		{"nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu,driver_version --format=csv,noheader,nounits",
			"NVIDIA GeForce RTX 4090, 24564, 1, 0, 550.54.15\nNVIDIA GeForce RTX 4090, 24564, 1, 0, 550.54.15\n"},
		{"nvidia-smi --query-gpu=index,memory.free,utilization.gpu --format=csv",
			"index, memory.free [MiB], utilization.gpu [%]\n0, 24563 MiB, 0 %\n1, 24563 MiB, 0 %\n"},
		{"nvidia-smi --format=csv,noheader --query-gpu=count", "2\n2\n"},
		{"nvidia-smi -L", "GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-5c0be5a1-0000-4000-8000-000000000000)\n" +
			"GPU 1: NVIDIA GeForce RTX 4090 (UUID: GPU-5c0be5a1-0000-4000-8000-000000000001)\n"},
		{"nvidia-smi --query-gpu=name,fan.speed --format=csv; echo $?", "Field \"fan.speed\" is not a valid field to query.\n2\n"},
	} {
		out, err := run(t, c, tc.cmd)
		if err != nil || out != tc.want {
			t.Errorf("%s:\n%q, %v\nwant %q", tc.cmd, out, err, tc.want)
		}
	}
	cpu := clientOf(t, sandbox.Config{})
	if out, err := run(t, cpu, "nvidia-smi -L; echo \"exit $?\""); err != nil || out != "exit 127\n" {
		t.Errorf("a sandbox without GPUs: %q %v", out, err)
	}
}

func run(t *testing.T, c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Output(cmd)
	return string(out), err
}

// BenchmarkThrottle reports what a throttled link really carries.
func BenchmarkThrottle(b *testing.B) {
	a, z := net.Pipe()
	defer a.Close()
	defer z.Close()
	const rate = 4 << 20
	slow := sandbox.Throttle(a, rate)
	go io.Copy(io.Discard, z)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		slow.Write(buf)
	}
}
