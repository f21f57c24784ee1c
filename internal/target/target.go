// Package target is the value a run drives: the compute provider for GPU
// instances, the provider for standby VMs, the snapshot store and the way to
// reach machines over SSH, all as interfaces. Actions and the runner only
// ever see a *Target; building one from a target name (local, vast, ssh, or
// one defined in scn.yaml) is internal/assembly's job, so the language links
// no cloud SDK.
package target

import (
	"context"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote"
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
	// StoreRates prices what Store keeps (B2), nil when it is free (a
	// folder) or unpriced: snapshots are then booked at 0.
	StoreRates *store.Rates
	// Paid is true when prices are real money: the CLI shows the plan's
	// worst case and asks before running.
	Paid bool
	// Secrets are the credential values this target uses; they are masked
	// in every output.
	Secrets []string
	// PublicKey is the authorized_keys line of the project's SSH key, which
	// every machine scn creates must accept.
	PublicKey string
	// StateDir is the project's .scn directory.
	StateDir string
	// PollInterval is how often instance status is polled while waiting
	// (a few seconds on rate-limited APIs, fast for local sandboxes).
	PollInterval time.Duration

	// Connect returns a command runner on an instance (pooled SSH, host
	// keys pinned for the life of the process).
	Connect func(ctx context.Context, inst *cloud.Instance) (remote.Execer, error)
	// Probe checks an instance answers SSH on a fresh connection.
	Probe func(ctx context.Context, inst *cloud.Instance) error
	// Forget drops the connection and host key pin of a destroyed instance.
	Forget func(id string)
	// Agent puts scn's agent on instances so snapshot bytes go straight
	// between them and the store; nil streams them through scn.
	Agent *agentctl.Launcher

	closers []func()
}

// OnClose adds a function Close calls: whoever assembles the target hands
// it what must be released (pooled connections).
func (t *Target) OnClose(f func()) { t.closers = append(t.closers, f) }

// Close releases connections.
func (t *Target) Close() {
	for _, c := range t.closers {
		c()
	}
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

// What an action may need of its target (actions.Info.Needs).
const (
	NeedCompute = "compute" // GPU instances: instance.create, gpu.offers
	NeedStandby = "standby" // standby machines: standby.create
	NeedStore   = "store"   // a snapshot store: snapshot.*
)

// Lacks says why the target cannot give what need names, with the fix for
// its kind; "" when it can. A scenario needing what its target lacks is
// refused before its first step (runner.New), not when that step comes
// after a GPU was rented.
func (t *Target) Lacks(need string) string {
	switch {
	case need == NeedCompute && t.Compute == nil:
		return "target " + t.Name + " has no compute provider"
	case need == NeedStore && t.Store == nil:
		return "target " + t.Name + " has no store for snapshots: give it one under targets." + t.Name + ".store in scn.yaml (docs/targets.md)"
	case need == NeedStandby && t.Standby == nil:
		switch t.Kind {
		case "ssh":
			return "target " + t.Name + " has no standby host: add a host with role: standby under targets." + t.Name + ".hosts in scn.yaml (docs/targets.md)"
		case "vast":
			return "target " + t.Name + " has no standby provider: the GCP standby VM needs GOOGLE_APPLICATION_CREDENTIALS (and GCP_PROJECT_ID, GCP_ZONE) set (docs/targets.md)"
		}
		return "target " + t.Name + " has no standby provider"
	}
	return ""
}
