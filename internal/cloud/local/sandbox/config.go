// Package sandbox is the machine behind a local instance: a process serving
// real SSH on 127.0.0.1 over its own folder, running each command with
// /bin/sh in the folder's workspace. It reads config.json (who may log in,
// which GPUs its nvidia-smi reports, which faults to play: slow boot,
// refused SSH, preemption, a slow link) and
// publishes state.json (pid, port, host key) once it listens, so any later
// scn process can find and reach it. Tests also run its Server in-process.
package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/scnlabs/scn/internal/atomicfile"
)

// Files and folders inside a sandbox's folder.
const (
	ConfigFile   = "config.json" // written by the provider before start
	StateFile    = "state.json"  // written by the sandbox
	LogFile      = "sandbox.log" // everything the sandbox has to say
	LockFile     = "lock"        // flock-ed by the live sandbox process
	WorkspaceDir = "workspace"   // commands run here
	HomeDir      = "home"        // HOME for commands, kept out of the workspace
	HostKeyDir   = "host"        // the sandbox's SSH host key
	OnStartLog   = "onstart.log" // output of the boot command
)

// Sandbox statuses in state.json; the provider reports "exited" on its own
// when the process is gone.
const (
	StatusLoading = "loading" // booting (boot_delay), not listening yet
	StatusRunning = "running" // listening
)

// Config is config.json: what the provider asks of the sandbox. The
// provider may store more fields of its own; the sandbox ignores them.
type Config struct {
	// AuthorizedKeys are authorized_keys lines of the keys allowed in.
	AuthorizedKeys []string `json:"authorized_keys"`
	Label          string   `json:"label,omitempty"`
	// Env is added to every command's environment (like VAST's env).
	Env map[string]string `json:"env,omitempty"`
	// OnStart is run once with /bin/sh when SSH is up (like VAST's onstart),
	// its output in onstart.log.
	OnStart string `json:"onstart,omitempty"`
	// GPU is what the sandbox's nvidia-smi reports; nil: a machine without
	// GPUs, where nvidia-smi is not found.
	GPU    *GPU   `json:"gpu,omitempty"`
	Faults Faults `json:"faults"`
}

// Faults makes a sandbox misbehave the way real machines do. Zero values
// mean no fault. In JSON, durations are Go duration strings ("1.5s").
type Faults struct {
	// BootDelay waits this long before listening (status loading meanwhile),
	// like a GPU host pulling its image.
	BootDelay time.Duration
	// RefuseSSHFor accepts TCP connections and closes them at once for this
	// long after boot, like sshd not started yet behind a proxy.
	RefuseSSHFor time.Duration
	// PreemptAfter kills the sandbox this long after boot, like a preempted
	// spot GPU: the process and its commands die, the folder stays.
	PreemptAfter time.Duration
	// LinkBytesPerSec throttles each SSH connection, both ways.
	LinkBytesPerSec int64
}

type faultsJSON struct {
	BootDelay       string `json:"boot_delay,omitempty"`
	RefuseSSHFor    string `json:"refuse_ssh_for,omitempty"`
	PreemptAfter    string `json:"preempt_after,omitempty"`
	LinkBytesPerSec int64  `json:"link_bytes_per_sec,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{durString(f.BootDelay), durString(f.RefuseSSHFor),
		durString(f.PreemptAfter), f.LinkBytesPerSec})
}

// UnmarshalJSON reads durations as Go duration strings.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Faults{LinkBytesPerSec: j.LinkBytesPerSec}
	for _, d := range []struct {
		name string
		s    string
		to   *time.Duration
	}{{"boot_delay", j.BootDelay, &out.BootDelay}, {"refuse_ssh_for", j.RefuseSSHFor, &out.RefuseSSHFor},
		{"preempt_after", j.PreemptAfter, &out.PreemptAfter}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v < 0 {
			return fmt.Errorf("fault %s: %q is not a duration like 1.5s", d.name, d.s)
		}
		*d.to = v
	}
	if out.LinkBytesPerSec < 0 {
		return fmt.Errorf("fault link_bytes_per_sec: %d is negative", out.LinkBytesPerSec)
	}
	*f = out
	return nil
}

// State is state.json: how to reach the sandbox. Written atomically, first
// when the process has started (status loading, no port), again once it
// listens.
type State struct {
	PID       int       `json:"pid"`
	Port      int       `json:"port,omitempty"`
	HostKey   string    `json:"host_key,omitempty"` // authorized_keys format
	StartedAt time.Time `json:"started_at"`
	Status    string    `json:"status"`
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// WriteJSON replaces the file at path with v, atomically: a reader sees the
// old file or the new one, never half of one.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
