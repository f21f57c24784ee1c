// Package agentctl is scn's side of its agent (internal/agent): it finds the
// agent binary that fits a machine, installs it there content-addressed
// (~/.cache/scn/agent-<sha256>, checked against its hash before every
// start, so a tampered or half-copied binary is replaced and never run),
// starts it over the SSH connection scn already has and speaks the wire
// protocol with it. When no agent can run on a machine, or the machine
// could not reach the store (remembered for a while: route.go), it says
// why with ErrUnavailable, and the caller streams the bytes through scn
// instead.
package agentctl

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// ErrUnavailable wraps every reason an agent cannot run on a machine (no
// binary for its OS/arch, no room or no exec in its home, no sha256sum);
// the caller falls back to streaming through scn.
var ErrUnavailable = errors.New("scn's agent cannot run there")

// BinaryName is the agent built for goos/goarch, as `make build` names it
// beside bin/scn.
func BinaryName(goos, goarch string) string { return "scn-agent-" + goos + "-" + goarch }

// Binaries says where scn finds agent executables.
type Binaries struct {
	// Dir holds BinaryName files (make build puts them beside bin/scn).
	Dir string
	// Self, when set, is an executable that serves `agent` itself (scn's
	// own): sent when the machine's OS/arch are this process's and Dir
	// has no better fit.
	Self string
}

// BesideExecutable is the Binaries of the running scn: agents next to its
// executable, and the executable itself.
func BesideExecutable() Binaries {
	exe, err := os.Executable()
	if err != nil {
		return Binaries{}
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	return Binaries{Dir: filepath.Dir(exe), Self: exe}
}

// Launcher starts agents on machines, remembering per machine (by id)
// what it learnt: the platform, that no agent can run there, and which
// stores it could not reach (route.go).
type Launcher struct {
	bins Binaries
	now  func() time.Time

	mu       sync.Mutex
	machines map[string]machine // what uname said, by machine
	refused  map[string]error   // machine → why no agent runs there
	noRoutes map[route]noRoute  // machine and store → why it could not reach it
	hashes   map[string]string  // binary path → sha256
}

// machine is what scn learnt about a machine's system.
type machine struct {
	platform string // "linux/amd64"
	gzip     bool   // gzip -d works there: the agent travels compressed
}

// New returns a Launcher looking for agents as b says.
func New(b Binaries) *Launcher {
	return &Launcher{bins: b, now: time.Now, machines: map[string]machine{}, refused: map[string]error{},
		noRoutes: map[route]noRoute{}, hashes: map[string]string{}}
}

// binary picks the agent for platform ("linux/amd64").
func (l *Launcher) binary(platform string) (string, error) {
	goos, goarch, _ := strings.Cut(platform, "/")
	if l.bins.Dir != "" {
		p := filepath.Join(l.bins.Dir, BinaryName(goos, goarch))
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if l.bins.Self != "" && goos == runtime.GOOS && goarch == runtime.GOARCH {
		return l.bins.Self, nil
	}
	where := "none beside scn"
	if l.bins.Dir != "" {
		where = "no " + BinaryName(goos, goarch) + " in " + l.bins.Dir
	}
	return "", fmt.Errorf("%w: the machine is %s and there is no agent for it (%s; `make build` builds linux/amd64 and linux/arm64)", ErrUnavailable, platform, where)
}

// hash returns the binary's sha256, computed once per path.
func (l *Launcher) hash(path string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.hashes[path]; ok {
		return h, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	l.hashes[path] = sum
	return sum, nil
}

// probe asks the machine what it is (uname) and whether it has gzip, once
// per machine.
func (l *Launcher) probe(ctx context.Context, x remote.Execer, id string) (machine, error) {
	l.mu.Lock()
	m, ok := l.machines[id]
	l.mu.Unlock()
	if ok {
		return m, nil
	}
	out, err := remote.Run(ctx, x, "uname -s; uname -m; command -v gzip >/dev/null 2>&1 && echo gzip; true", nil)
	if err != nil {
		return m, fmt.Errorf("asking the machine what it is: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 3 && lines[2] == "gzip" {
		m.gzip = true
		lines = lines[:2]
	}
	if m.platform, err = parseUname(strings.Join(lines, "\n")); err != nil {
		return m, err
	}
	if id != "" { // an unnamed machine is asked every time
		l.mu.Lock()
		l.machines[id] = m
		l.mu.Unlock()
	}
	return m, nil
}

// parseUname maps `uname -s; uname -m` to Go's GOOS/GOARCH.
func parseUname(out string) (string, error) {
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", fmt.Errorf("%w: uname said %q", ErrUnavailable, strings.TrimSpace(out))
	}
	goos := strings.ToLower(f[0])
	arch := map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
		"i686": "386", "i386": "386", "armv7l": "arm", "riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x"}[f[1]]
	if arch == "" {
		arch = f[1]
	}
	return goos + "/" + arch, nil
}

// exitNeedsInstall is what the start script exits with when the agent is
// missing or its hash differs.
const exitNeedsInstall = 97

// dirExpr is where agents live on a machine (expanded by its shell).
const dirExpr = `"${XDG_CACHE_HOME:-$HOME/.cache}/scn"`

// startScript runs the installed agent only if its content has the hash
// its name promises; otherwise it exits exitNeedsInstall.
func startScript(sum string) string {
	return `f=` + dirExpr + `/agent-` + sum + `
h() { sha256sum 2>/dev/null || shasum -a 256 2>/dev/null; }
if [ -f "$f" ] && [ "$(h < "$f" | cut -c1-64)" = ` + sum + ` ]; then exec "$f" agent; fi
exit ` + fmt.Sprint(exitNeedsInstall)
}

// installScript writes stdin (gzip-compressed if gz) to the agent's place
// atomically (a temporary name, then mv), replacing whatever was there.
func installScript(sum string, gz bool) string {
	write := "cat"
	if gz {
		write = "gzip -dc"
	}
	return `set -e
d=` + dirExpr + `
mkdir -p "$d"
chmod 700 "$d"
t="$d/.agent-` + sum + `.$$"
trap 'rm -f "$t"' EXIT
` + write + ` > "$t"
chmod 700 "$t"
mv -f "$t" "$d/agent-` + sum + `"
trap - EXIT`
}

// Start runs the agent on the machine behind x (machine is its id, for
// what the Launcher remembers; "" remembers nothing), installing it first when
// it is missing or not what its hash says, and returns the session once
// the agent said hello. Errors wrapping ErrUnavailable mean no agent can
// run there: stream through scn instead.
func (l *Launcher) Start(ctx context.Context, x remote.Execer, machine string) (*Session, error) {
	if err := l.Refused(machine, ""); err != nil {
		return nil, err
	}
	s, err := l.start(ctx, x, machine)
	if errors.Is(err, ErrUnavailable) && ctx.Err() == nil && machine != "" {
		l.mu.Lock()
		l.refused[machine] = err
		l.mu.Unlock()
	}
	return s, err
}

func (l *Launcher) start(ctx context.Context, x remote.Execer, machine string) (*Session, error) {
	m, err := l.probe(ctx, x, machine)
	if err != nil {
		return nil, err
	}
	bin, err := l.binary(m.platform)
	if err != nil {
		return nil, err
	}
	sum, err := l.hash(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the agent %s: %v", ErrUnavailable, bin, err)
	}
	for attempt := 1; ; attempt++ {
		s, err := startSession(ctx, x, startScript(sum))
		if !errors.Is(err, errNeedsInstall) {
			return s, err
		}
		if attempt > 1 {
			return nil, fmt.Errorf("%w: the agent installed in %s does not check out against its hash (no sha256sum or shasum there?)", ErrUnavailable, dirExpr)
		}
		if err := l.install(ctx, x, bin, sum, m.gzip); err != nil {
			return nil, err
		}
	}
}

// install copies the binary over the SSH connection, gzip-compressed when
// the machine can expand it (less than half the bytes on a slow link).
func (l *Launcher) install(ctx context.Context, x remote.Execer, bin, sum string, gz bool) error {
	var body io.Reader
	if gz {
		b, err := compressed(bin, sum)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		body = bytes.NewReader(b)
	} else {
		f, err := os.Open(bin)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		defer f.Close()
		body = f
	}
	_, err := remote.Run(ctx, x, installScript(sum, gz), body)
	var exit *remote.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%w: copying it to the machine failed (no room or no write access in its home?): %v", ErrUnavailable, err)
	}
	return err // nil, or the connection: the transfer would fail the same way
}

// gzipped holds each agent binary's gzip by its sha256, made once per
// process (whatever Launcher asks).
var (
	gzipMu  sync.Mutex
	gzipped = map[string][]byte{}
)

// compressed is the gzip of the binary at bin, whose sha256 is sum.
func compressed(bin, sum string) ([]byte, error) {
	gzipMu.Lock()
	defer gzipMu.Unlock()
	if b, ok := gzipped[sum]; ok {
		return b, nil
	}
	f, err := os.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.Copy(zw, f); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	gzipped[sum] = buf.Bytes()
	return buf.Bytes(), nil
}
