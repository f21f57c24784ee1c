// Package agentctl is scn's side of its agent (internal/agent): it finds the
// agent binary that fits a machine, installs it there content-addressed
// (~/.cache/scn/agent-<sha256>, checked against its hash before every
// start, so a tampered or half-copied binary is replaced and never run),
// starts it over the SSH connection scn already has and speaks the wire
// protocol with it. When no agent can run on a machine it says why with
// ErrUnavailable, and the caller streams the bytes through scn instead.
package agentctl

import (
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
// what it learnt: the platform, and that no agent can run there.
type Launcher struct {
	bins Binaries

	mu        sync.Mutex
	platforms map[string]string // machine → "linux/amd64"
	refused   map[string]error  // machine → why no agent runs there
	hashes    map[string]string // binary path → sha256
}

// New returns a Launcher looking for agents as b says.
func New(b Binaries) *Launcher {
	return &Launcher{bins: b, platforms: map[string]string{}, refused: map[string]error{}, hashes: map[string]string{}}
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

// platform asks the machine what it is (uname), once per machine.
func (l *Launcher) platform(ctx context.Context, x remote.Execer, machine string) (string, error) {
	l.mu.Lock()
	p, ok := l.platforms[machine]
	l.mu.Unlock()
	if ok {
		return p, nil
	}
	out, err := remote.Run(ctx, x, "uname -s; uname -m", nil)
	if err != nil {
		return "", fmt.Errorf("asking the machine what it is: %w", err)
	}
	p, err = parseUname(out)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	l.platforms[machine] = p
	l.mu.Unlock()
	return p, nil
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

// installScript writes stdin to the agent's place atomically (a temporary
// name, then mv), replacing whatever was there.
func installScript(sum string) string {
	return `set -e
d=` + dirExpr + `
mkdir -p "$d"
chmod 700 "$d"
t="$d/.agent-` + sum + `.$$"
trap 'rm -f "$t"' EXIT
cat > "$t"
chmod 700 "$t"
mv -f "$t" "$d/agent-` + sum + `"
trap - EXIT`
}

// Start runs the agent on the machine behind x (machine is its id, for
// what the Launcher remembers and for messages), installing it first when
// it is missing or not what its hash says, and returns the session once
// the agent said hello. Errors wrapping ErrUnavailable mean no agent can
// run there: stream through scn instead.
func (l *Launcher) Start(ctx context.Context, x remote.Execer, machine string) (*Session, error) {
	l.mu.Lock()
	refused := l.refused[machine]
	l.mu.Unlock()
	if refused != nil {
		return nil, refused
	}
	s, err := l.start(ctx, x, machine)
	if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
		l.mu.Lock()
		l.refused[machine] = err
		l.mu.Unlock()
	}
	return s, err
}

func (l *Launcher) start(ctx context.Context, x remote.Execer, machine string) (*Session, error) {
	platform, err := l.platform(ctx, x, machine)
	if err != nil {
		return nil, err
	}
	bin, err := l.binary(platform)
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
		if err := install(ctx, x, bin, sum); err != nil {
			return nil, err
		}
	}
}

// install copies the binary over the SSH connection.
func install(ctx context.Context, x remote.Execer, bin, sum string) error {
	f, err := os.Open(bin)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := remote.Run(ctx, x, installScript(sum), f); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: copying it to the machine failed (no room or no write access in its home?): %v", ErrUnavailable, err)
	}
	return nil
}
