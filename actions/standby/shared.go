// Package standby holds the standby.* actions: rent a CPU standby machine
// and keep it in sync with a GPU instance (standby.create), look at the
// association — sync figures, failure detection, files at risk —
// (standby.status) and force a sync (standby.sync). The association itself
// (internal/standby) runs in the background for the rest of the run; the
// run's associations are kept in Env.Shared, where failover.restore finds
// them.
package standby

import (
	"fmt"
	"path"
	"strings"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/standby"
)

// sharedKey is the Env.Shared key of the run's association registry.
const sharedKey = "standby.associations"

// associations is the run's registry of standby associations.
func associations(env *actions.Env) (*standby.Registry, error) {
	if env.Shared == nil {
		return nil, fmt.Errorf("this run keeps no shared state: standby associations cannot be found")
	}
	return env.Shared.Load(sharedKey, func() any { return &standby.Registry{} }).(*standby.Registry), nil
}

// Find returns the association of standby ref (or of the GPU it follows).
func Find(env *actions.Env, ref actions.InstanceRef) (*standby.Association, error) {
	reg, err := associations(env)
	if err != nil {
		return nil, err
	}
	if a := reg.Find(ref.ID); a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("no standby association for %s in this run: standby.create makes one, and associations live only as long as the run that made them", ref.ID)
}

// Machine is an instance as an end of an association, reached the way the
// run reaches every instance (Env.Connect, Env.Probe).
func Machine(env *actions.Env, inst *cloud.Instance, dir string) standby.Machine {
	m := standby.Machine{Instance: inst, Dir: dir, Connect: env.Connect, Probe: env.Probe}
	if env.Target != nil {
		if p, ok := env.Target.Provider(inst.Provider); ok {
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

// standbyDir is where the standby keeps the copy of gpuDir: standbyPath
// when given (placed like Dir), else the same place relative to the
// standby's workspace as gpuDir is to the GPU's — machines need not share
// absolute paths (two local sandboxes never do) — else the standby's
// workspace itself.
func standbyDir(gpu, sb *cloud.Instance, gpuDir, standbyPath string) (string, error) {
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

// logTo passes the association's events to the console under step, after
// the step itself has ended; standby.status shows them in its journal.
func logTo(env *actions.Env, id string) func(string) {
	step := env.Step
	return func(line string) {
		if env.Events != nil {
			env.Events.Log(step, "standby "+id+": "+line)
		}
	}
}
