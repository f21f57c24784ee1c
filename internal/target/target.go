// Package target assembles the worlds a run drives — the compute provider
// for GPU instances, the provider for standby VMs, the snapshot store, the
// SSH key — from a target name (local, vast, ssh, or one defined in
// scn.yaml) and the environment. Actions only ever see a *Target.
package target

import (
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/store"
)

// Target is what --target selects.
type Target struct {
	Name string // as given to --target
	Kind string // local | vast | ssh
	// Compute rents GPU instances (instance.create, gpu.offers).
	Compute cloud.Provider
	// Standby starts CPU standby machines (standby.create).
	Standby cloud.Provider
	// Store holds snapshots.
	Store store.Store
	// Paid is true when prices are real money: the CLI shows the plan's
	// worst case and asks before running.
	Paid bool
	// Secrets are the credential values this target uses; they are masked
	// in every output.
	Secrets []string
	// StateDir is the project's .scn directory.
	StateDir string
}

// Provider returns the provider called name (as recorded on an instance or
// in the ledger), looking at the compute and standby providers.
func (t *Target) Provider(name string) (cloud.Provider, bool) {
	for _, p := range []cloud.Provider{t.Compute, t.Standby} {
		if p != nil && (name == "" || p.Name() == name) {
			return p, true
		}
	}
	return nil, false
}
