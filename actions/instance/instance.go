// Package instance holds the instance.* actions: rent (or start) a
// machine and wait until SSH answers, look at it, list them, destroy it.
// Every instance is tracked from the moment it has an id: its undo is
// registered before the wait, so a machine that never becomes ready is
// still destroyed.
package instance

import (
	"time"

	"github.com/scnlabs/scn/internal/cloud"
)

// Outputs describe an instance as its provider reports it (instance.status,
// instance.list; instance.create adds how the renting went).
type Outputs struct {
	ID        string    `json:"id" doc:"provider's instance id"`
	Provider  string    `json:"provider" doc:"local, vast, gcp or ssh"`
	Label     string    `json:"label" doc:"scn-<run-id>-<step-id>"`
	State     string    `json:"state" doc:"creating, loading, running, exited, stopped, offline, unknown"`
	StatusMsg string    `json:"status_msg" doc:"provider's status message"`
	Host      string    `json:"host" doc:"SSH host"`
	Port      int       `json:"port" doc:"SSH port"`
	User      string    `json:"user" doc:"SSH user"`
	Workspace string    `json:"workspace" doc:"absolute workspace path (/workspace on VAST, the sandbox's folder locally)"`
	GPU       string    `json:"gpu" doc:"GPU model"`
	NumGPUs   int       `json:"num_gpus" doc:"GPU count"`
	Price     float64   `json:"price" doc:"USD per hour"`
	Simulated bool      `json:"simulated" doc:"price is simulated (local target)"`
	CreatedAt time.Time `json:"created_at" doc:"when the provider gave it an id"`
}

// CreateOutputs are instance.create's: the instance, and how renting it
// went (which only instance.create knows, so instance.status does not
// list them).
type CreateOutputs struct {
	Outputs
	ReadySeconds float64 `json:"ready_seconds" doc:"seconds from created_at until SSH first answered the readiness check, within 1 s (earlier offers given up are not counted)"`
	Attempts     int     `json:"attempts" doc:"offers tried, the one that worked included"`
}

func outputsOf(i *cloud.Instance) *Outputs {
	return &Outputs{ID: i.ID, Provider: i.Provider, Label: i.Label, State: i.Status, StatusMsg: i.StatusMsg,
		Host: i.Host, Port: i.Port, User: i.User, Workspace: i.Workspace, GPU: i.GPU, NumGPUs: i.NumGPUs,
		Price: i.PricePerHour, Simulated: i.Simulated, CreatedAt: i.CreatedAt}
}

// ResourceKind implements actions.Resource: the id is an instance's (for
// instance.status, each of instance.list's instances and instance.create).
func (Outputs) ResourceKind() string { return "instance" }
