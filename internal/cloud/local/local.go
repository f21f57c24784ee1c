// Package local is the `local` target's compute: instances are sandboxes,
// detached processes serving real SSH on 127.0.0.1 over their own folder
// under <state>/local/<id>/. All their state is on disk (config.json,
// state.json, a lock the live process holds), so a later scn command — or
// `scn cleanup` after a crash — reaches the same sandboxes, and killing one
// leaves its disk behind exactly like a preempted GPU. Offers come from a
// built-in catalogue with realistic prices, reported as simulated.
package local

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
	"github.com/scnlabs/scn/internal/remote"
)

// ProviderName is the provider's name in offers, instances and the ledger.
const ProviderName = "local"

// EnvSandboxDir tells a process started by Create that it is a sandbox, and
// which folder it serves.
const EnvSandboxDir = "SCN_SANDBOX_DIR"

// RunIfChild turns the process into a sandbox when EnvSandboxDir is set:
// it serves that folder and exits, never returning. cmd/scn's main calls it
// first, as does TestMain of every package whose tests create sandboxes, so
// the sandbox is the same binary as its creator.
func RunIfChild() {
	dir := os.Getenv(EnvSandboxDir)
	if dir == "" {
		return
	}
	os.Exit(sandbox.Main(dir))
}

// Faults are misbehaviours every sandbox of a provider plays (target options).
type Faults = sandbox.Faults

// Options configure a Provider.
type Options struct {
	// StateDir is scn's state folder (.scn); sandboxes live in StateDir/local.
	StateDir string
	// Exe is the binary started as a sandbox; default os.Executable().
	Exe string
	// Key is the project key every sandbox accepts.
	Key *remote.Key
	// Faults are applied to every sandbox created.
	Faults Faults
	// StopGrace is how long Destroy(ReasonUser) waits after SIGTERM before
	// SIGKILL. Default 5s.
	StopGrace time.Duration
	// StartTimeout bounds how long Create waits for the process to come up
	// (not for SSH: that is WaitReady's job). Default 15s.
	StartTimeout time.Duration
}

// Provider runs sandboxes. It keeps nothing in memory: two Providers over
// the same StateDir see the same instances.
type Provider struct {
	opts Options
	root string // StateDir/local
}

var _ cloud.Provider = (*Provider)(nil)

// New returns a provider over opts.StateDir.
func New(opts Options) *Provider {
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 15 * time.Second
	}
	root := filepath.Join(opts.StateDir, "local")
	if abs, err := filepath.Abs(root); err == nil {
		root = abs // workspaces are reported as absolute paths
	}
	return &Provider{opts: opts, root: root}
}

// Name implements cloud.Provider.
func (p *Provider) Name() string { return ProviderName }

// exe is the binary to start as a sandbox.
func (p *Provider) exe() (string, error) {
	if p.opts.Exe != "" {
		return p.opts.Exe, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find scn's own binary to start a sandbox: %w", err)
	}
	return exe, nil
}
