// Package cloud holds the vocabulary every compute provider speaks — offers,
// instances, their SSH address — and the Provider interface that the local
// sandboxes, VAST.ai, Compute Engine and a pool of SSH hosts each implement.
// Actions never talk to a provider's API directly: they go through this
// interface, so a scenario runs unchanged on any target.
package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Offer is a machine a provider is willing to rent, as gpu.offers returns it.
// Field names (json tags) are what scenarios see: ${{ steps.offer.offers[0].price }}.
type Offer struct {
	ID           string  `json:"id" doc:"provider's offer id (pass the whole offer to instance.create)"`
	Provider     string  `json:"provider" doc:"provider that made the offer: local, vast, gcp, ssh"`
	GPU          string  `json:"gpu" doc:"GPU model with underscores, e.g. RTX_4090; CPU offers name their machine type"`
	NumGPUs      int     `json:"num_gpus" doc:"GPUs in the machine"`
	PricePerHour float64 `json:"price" doc:"total price in USD per hour (VAST dph_total: the machine and the disk the search priced)"`
	Reliability  float64 `json:"reliability" doc:"host reliability score, 0..1"`
	DiskGB       float64 `json:"disk_gb" doc:"disk space available, GB"`
	Location     string  `json:"location" doc:"geolocation or zone"`
	Simulated    bool    `json:"simulated" doc:"true when the price is from the built-in catalogue, not a real bill"`
	// SentPerGB and ReceivedPerGB are what the provider bills per GB the
	// machine sends and receives, besides the hourly price (VAST:
	// inet_up_cost and inet_down_cost, per byte, in any state); 0 where
	// traffic is not billed by the machine's provider.
	SentPerGB     float64 `json:"sent_per_gb,omitempty" doc:"USD per 10⁹ bytes the machine sends (VAST inet_up_cost; GCP: scn's estimate of its internet egress, see traffic_source); omitted when not billed"`
	ReceivedPerGB float64 `json:"received_per_gb,omitempty" doc:"USD per 10⁹ bytes the machine receives (VAST inet_down_cost); omitted when not billed"`
	// TrafficSource says where SentPerGB and ReceivedPerGB come from when
	// they are scn's estimate rather than the offer's own prices (GCP's
	// internet egress: the destination and the month's usage set the
	// rate, which scn cannot know): "" for the provider's own.
	TrafficSource string `json:"traffic_source,omitempty" doc:"where sent_per_gb and received_per_gb come from when they are scn's estimate, not the provider's offer (estimated: <price list and date>)"`
	// PriceSource and Estimated say where a price that is not the
	// provider's own bill comes from (see Instance).
	PriceSource string `json:"price_source,omitempty" doc:"where the price comes from when it is not the provider's bill: gcp billing catalog <date>, or estimated: <table and its date>"`
	Estimated   bool   `json:"estimated,omitempty" doc:"true when the price is scn's built-in estimate, not the provider's price list"`
}

// ResourceKind names what an offer's id names (actions.Resource): an
// offer, not an instance — instance.create rents it first.
func (Offer) ResourceKind() string { return "offer" }

// OfferQuery filters and orders offers. Zero values mean "any".
type OfferQuery struct {
	GPU            string  // RTX_4090; matched case-insensitively, '_' equals ' '
	NumGPUs        int     // exact count, 0 = any
	MaxPrice       float64 // USD/h, 0 = no limit
	MinReliability float64
	MinDiskGB      float64
	// DiskGB is the disk the instance will rent: providers that bill
	// storage price it into each offer (VAST allocated_storage), so that
	// MaxPrice compares the price that will be billed. 0 = the disk the
	// provider rents by default.
	DiskGB float64
	Order  string // "price" (default, ascending) or "reliability" (descending)
	Limit  int    // 0 = provider default
}

// Instance is a machine scn started (or took from a pool). Its json field
// names are the outputs of instance.create / instance.status.
type Instance struct {
	ID           string  `json:"id" doc:"provider's instance id"`
	Provider     string  `json:"provider" doc:"provider that runs it"`
	Label        string  `json:"label" doc:"label scn gave it: scn-<run>-<step>"`
	Status       string  `json:"status" doc:"provider status: creating, loading, running, exited, stopped, offline, unknown, gone"`
	StatusMsg    string  `json:"status_msg,omitempty" doc:"provider's last status message"`
	Host         string  `json:"host" doc:"SSH host"`
	Port         int     `json:"port" doc:"SSH port"`
	User         string  `json:"user" doc:"SSH user"`
	Workspace    string  `json:"workspace" doc:"absolute path of the workspace (/workspace on VAST)"`
	GPU          string  `json:"gpu" doc:"GPU model"`
	NumGPUs      int     `json:"num_gpus" doc:"GPU count"`
	PricePerHour float64 `json:"price" doc:"USD per hour"`
	Simulated    bool    `json:"simulated" doc:"price is simulated (local target)"`
	// PriceSource names where PricePerHour comes from when it is not the
	// provider's own figure for this instance (VAST's dph_total): Google's
	// price list ("gcp billing catalog 2026-11-01") or, when that cannot be
	// read, scn's built-in table ("estimated: …", Estimated set).
	PriceSource string    `json:"price_source,omitempty" doc:"where the price comes from when it is not the provider's bill"`
	Estimated   bool      `json:"estimated,omitempty" doc:"price is scn's built-in estimate, not the provider's price list"`
	CreatedAt   time.Time `json:"created_at" doc:"when the provider confirmed creation"`
	// MinBilledSeconds is the shortest time the provider bills the
	// instance for, however soon it is destroyed (Compute Engine: 60 s);
	// 0 means none: the bill is the lifetime. The provider sets it, the
	// run's books apply it (resource.Handle.MinBilled).
	MinBilledSeconds float64 `json:"-"`
	// StoragePerHour is the part of PricePerHour billed for as long as
	// the instance exists (VAST: its disk, storage_cost × disk_space /
	// 720); when set, the rest is billed only from RunningAt to the
	// destroy (VAST bills the machine only while it runs, the disk all
	// along: docs.vast.ai/billing-help). 0: the whole price from creation.
	StoragePerHour float64 `json:"-"`
	// RunningAt is when scn first read the provider saying running
	// (WaitReady); zero until then, and for an instance that never ran.
	RunningAt time.Time `json:"-"`
	// ReadyAt is when the SSH probe that began the successful readiness
	// check started (WaitReady); zero until then.
	ReadyAt time.Time `json:"ready_at,omitzero" doc:"when SSH first answered the readiness check"`
	// HostKey pins the instance's SSH host key when the provider knows it
	// (local sandboxes publish theirs); empty means "pin on first contact".
	HostKey string `json:"host_key,omitempty" doc:"SSH host key (authorized_keys format) when known in advance"`
	// IdentityFile is the private key to log in with when the machine does
	// not take the project key: hosts of an ssh pool are the team's own and
	// already trust the team's keys (scn.yaml `key:`). When set, the SSH
	// client uses it instead of the project key; empty means the project key.
	IdentityFile string `json:"identity_file,omitempty" doc:"private key file to log in with instead of the project key (ssh pool hosts)"`
}

// Addr is host:port of the instance's SSH server.
func (i *Instance) Addr() string { return net.JoinHostPort(i.Host, strconv.Itoa(i.Port)) }

// Status values shared by providers. Providers map their own words onto these
// where they mean the same; anything else is passed through.
const (
	StatusCreating = "creating" // accepted, no machine yet
	StatusLoading  = "loading"  // machine booting / image loading
	StatusRunning  = "running"
	StatusExited   = "exited"  // stopped on its own: will not come back
	StatusStopped  = "stopped" // stopped (by its owner or the provider); VAST keeps the disk but a drill cannot use it
	StatusOffline  = "offline" // host lost
	StatusUnknown  = "unknown"
	StatusGone     = "gone" // destroyed or never existed
)

// Fatal reports whether an instance in this status will never become usable:
// the caller should destroy it and try elsewhere.
func Fatal(status string) bool {
	switch status {
	case StatusExited, StatusStopped, StatusOffline, StatusUnknown, StatusGone:
		return true
	}
	return false
}

// CreateRequest asks a provider for one instance.
type CreateRequest struct {
	Offer     Offer
	Label     string            // scn-<run-id>-<step-id>; providers must store it so a sweeper can find the instance
	RunID     string            // the scn run renting it (GCP labels its VMs scn-run=<run-id>)
	Image     string            // container / VM image; provider default when empty
	DiskGB    float64           // 0 = provider default
	Env       map[string]string // environment for the machine (VAST env)
	OnStart   string            // shell run at boot (VAST onstart)
	PublicKey string            // authorized_keys line the instance must accept (the project key)
}

// DestroyReason says why an instance is destroyed.
type DestroyReason string

const (
	// ReasonUser destroys the instance and everything on it.
	ReasonUser DestroyReason = "user"
	// ReasonFailure simulates a failure: the machine dies abruptly. Providers
	// that can leave the disk behind (local) do so, like a preempted GPU.
	ReasonFailure DestroyReason = "failure"
)

// Provider is one world of machines.
type Provider interface {
	// Name is the provider's name as recorded in the ledger: local, vast, gcp, ssh.
	Name() string
	// Offers lists what can be rented, filtered and ordered by q.
	Offers(ctx context.Context, q OfferQuery) ([]Offer, error)
	// Create asks for an instance and returns as soon as the provider has
	// given it an id (it is usually not ready yet: see WaitReady). A returned
	// error of type *OfferGoneError means "try another offer".
	Create(ctx context.Context, req CreateRequest) (*Instance, error)
	// Get returns the instance's current state. ErrNotFound once it is gone.
	Get(ctx context.Context, id string) (*Instance, error)
	// List returns instances whose label starts with labelPrefix ("" = all scn's).
	List(ctx context.Context, labelPrefix string) ([]Instance, error)
	// Destroy stops billing for the instance and returns once the provider
	// confirms it is gone. Destroying an instance that is already gone is not
	// an error.
	Destroy(ctx context.Context, id string, reason DestroyReason) error
}

// BalanceChecker is implemented by providers with a prepaid account (VAST):
// scn refuses to rent when the balance cannot cover the step.
type BalanceChecker interface {
	Balance(ctx context.Context) (float64, error)
}

// BillEnder is implemented by providers whose Destroy returns only once the
// instance is seen gone, polls after the provider accepted the destroy and
// stopped billing (VAST): DestroyBilled destroys like Destroy and returns
// the moment the destroy was accepted, which is where the bill ends.
type BillEnder interface {
	DestroyBilled(ctx context.Context, id string, reason DestroyReason) (time.Time, error)
}

// BillPauser is implemented by providers that stop billing parts of a
// machine while it is not running (VAST: the compute while it is stopped,
// its disk too while it is offline; Instance.StoragePerHour is the disk's
// part): Paused says where scn's reads first saw each pause since the
// machine last ran. Every read of the instance counts (the wait for SSH,
// instance.status, a standby's checks), whoever made it, which is why the
// provider keeps it.
type BillPauser interface {
	Paused(id string) BillPause
}

// BillPause is where a provider stopped billing parts of a machine, as the
// first status read saying so was answered (the pause came before); zero
// where it bills on.
type BillPause struct {
	Machine time.Time // the compute's bill paused here (VAST: stopped or offline)
	Storage time.Time // the disk's too (VAST: offline)
}

// LabelDestroyer is implemented by providers whose ids outlive their
// instances (an ssh pool's host is leased by one run after another), so
// the id a run recorded may name another run's instance by the time `scn
// cleanup` reads the record. DestroyLabelled destroys id only while its
// instance still carries label; one that is gone or carries another label
// is left alone, and the answer is ErrNotFound.
type LabelDestroyer interface {
	DestroyLabelled(ctx context.Context, id, label string, reason DestroyReason) error
}

// DestroyBilled destroys instance id on p and returns when its billing
// stopped: the provider's accepted time when it knows it (BillEnder),
// else the moment Destroy returned.
func DestroyBilled(ctx context.Context, p Provider, id string, reason DestroyReason) (time.Time, error) {
	if be, ok := p.(BillEnder); ok {
		return be.DestroyBilled(ctx, id, reason)
	}
	if err := p.Destroy(ctx, id, reason); err != nil {
		return time.Time{}, err
	}
	return time.Now().UTC(), nil
}

// ErrNotFound means the provider does not know the instance (destroyed, or
// never existed).
var ErrNotFound = errors.New("instance not found")

// OfferGoneError means the offer was taken or withdrawn before scn could rent it.
type OfferGoneError struct {
	Offer  string
	Detail string
}

func (e *OfferGoneError) Error() string {
	return fmt.Sprintf("offer %s is no longer available: %s", e.Offer, e.Detail)
}

// InstanceFailedError means an instance reached a state it will not recover
// from (exited, offline, an error in its status message) or never became
// reachable. The caller destroys it and, if allowed, tries the next offer.
type InstanceFailedError struct {
	ID     string
	Status string
	Msg    string
}

func (e *InstanceFailedError) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("instance %s failed (%s): %s", e.ID, e.Status, e.Msg)
	}
	return fmt.Sprintf("instance %s failed (%s)", e.ID, e.Status)
}

// IsUncertain reports whether a failed create may nonetheless have rented
// something (the answer was lost): such an error implements
// Uncertain() bool. The ledger intent then stays open for cleanup.
func IsUncertain(err error) bool {
	var u interface{ Uncertain() bool }
	return errors.As(err, &u) && u.Uncertain()
}
