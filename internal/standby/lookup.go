package standby

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/target"
)

// registryKey is the key of a run's association registry among the
// values the run shares across steps.
const registryKey = "standby.associations"

// Shared keeps a run's values across its steps by key (actions.Shared); a
// nil one keeps nothing and returns nil.
type Shared interface {
	Load(key string, init func() any) any
}

// RunRegistry is the registry of the associations of the run whose shared
// values are s: standby.create adds to it, standby.status, standby.sync
// and failover.restore find in it.
func RunRegistry(s Shared) (*Registry, error) {
	var reg *Registry
	if s != nil {
		reg, _ = s.Load(registryKey, func() any { return &Registry{} }).(*Registry)
	}
	if reg == nil {
		return nil, fmt.Errorf("this run keeps no shared state: standby associations cannot be found")
	}
	return reg, nil
}

// Find returns the run's association of standby id (or of the GPU it
// follows).
func Find(s Shared, id string) (*Association, error) {
	reg, err := RunRegistry(s)
	if err != nil {
		return nil, err
	}
	if a := reg.Find(id); a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("no standby association for %s in this run: standby.create makes one, and associations live only as long as the run that made them", id)
}

// GPULost tells the run's associations following GPU id that it was lost
// at at (scn destroyed it with reason failure: the provider accepted the
// destroy then), so their data at risk and detection count from the
// failure the platform timed, not from their own next health check. A run
// without shared state or associations is told nothing.
func GPULost(s Shared, id string, at time.Time) {
	reg, err := RunRegistry(s)
	if err != nil {
		return
	}
	reg.mu.Lock()
	list := append([]*Association(nil), reg.list...)
	reg.mu.Unlock()
	for _, a := range list {
		a.gpuLost(id, at)
	}
}

// Reach is how a run reaches its machines: the step's Connect and Probe
// (actions.Env) and its target, whose providers answer status reads.
type Reach struct {
	Target  *target.Target
	Connect func(ctx context.Context, inst *cloud.Instance) (remote.Execer, error)
	Probe   func(ctx context.Context, inst *cloud.Instance) error
}

// Machine is inst as an end of an association, holding dir, reached the
// way the run reaches every instance.
func (r Reach) Machine(inst *cloud.Instance, dir string) Machine {
	m := Machine{Instance: inst, Dir: dir, Connect: r.Connect, Probe: r.Probe}
	if r.Target != nil {
		if p, ok := r.Target.Provider(inst.Provider); ok {
			m.Provider = p
		}
	}
	return m
}

// Dir places a path parameter on an instance: empty means its workspace,
// a relative path is inside its workspace, an absolute one is taken as is.
func Dir(inst *cloud.Instance, p string) (string, error) {
	if path.IsAbs(p) {
		return path.Clean(p), nil
	}
	if inst.Workspace == "" {
		return "", fmt.Errorf("instance %s reports no workspace: give an absolute path", inst.ID)
	}
	return path.Join(inst.Workspace, p), nil
}

// StandbyDir is where the standby keeps the copy of gpuDir: standbyPath
// when given (placed like Dir), else the same place relative to the
// standby's workspace as gpuDir is to the GPU's — machines need not share
// absolute paths (two local sandboxes never do) — else the standby's
// workspace itself.
func StandbyDir(gpu, sb *cloud.Instance, gpuDir, standbyPath string) (string, error) {
	if standbyPath != "" {
		return Dir(sb, standbyPath)
	}
	if gpu.Workspace != "" {
		ws := path.Clean(gpu.Workspace)
		if rel, ok := strings.CutPrefix(gpuDir, ws+"/"); ok {
			return Dir(sb, rel)
		}
	}
	return Dir(sb, "")
}
