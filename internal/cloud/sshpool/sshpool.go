// Package sshpool is the provider of the `ssh` target: machines a team
// already has, listed in scn.yaml. Nothing is rented and nothing is deleted:
// "creating" an instance leases a free host from the pool and "destroying"
// it gives the lease back. A lease is a file under the project's state
// directory created atomically, so two scn processes (or two steps of one
// run) never drive the same machine at once; a lease left by a crashed run
// stays until `scn cleanup` or `scn do instance.destroy` releases it, so a
// host is never handed out while something else may still be using it.
// A Provider that took a lease gives back only that lease (each carries a
// random token its taker keeps), so destroying a host twice — a failure,
// then the run's final cleanup — cannot free it from under a run that
// leased it in between; `scn cleanup` releases only a lease carrying the
// label its record names.
// A host destroyed with reason "failure" stands for a dead GPU: its lease
// is released, but the Provider that destroyed it does not hand it out
// again (a failover drill must not "fail over" onto the machine it lost,
// whose disk still holds everything); the next scn process offers it again.
package sshpool

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/scnlabs/scn/internal/cloud"
)

// ProviderName is the provider's name in offers, instances and the ledger.
const ProviderName = "ssh"

// Host roles: which provider of a target hands the host out.
const (
	RoleGPU     = "gpu"     // GPU instances (instance.create)
	RoleStandby = "standby" // CPU standby machines (standby.create)
)

// DefaultWorkspace is the workspace of a host that does not name one, as
// on VAST.
const DefaultWorkspace = "/workspace"

// Host is one machine of the pool, as listed in scn.yaml.
type Host struct {
	Name         string  // unique in the pool; the instance id and the lease file's name
	Host         string  // address to SSH to
	Port         int     // SSH port; 22 when 0
	User         string  // SSH user; root when empty
	IdentityFile string  // private key to log in with; empty = the project key
	Workspace    string  // absolute path of the workspace; /workspace when empty
	GPU          string  // GPU model, RTX_4090 (CPU hosts may leave it empty)
	NumGPUs      int     // GPU count
	PricePerHour float64 // what the team counts the machine at, USD/h; 0 = free
	Role         string  // RoleGPU (default) or RoleStandby
	HostKey      string  // pinned SSH host key (authorized_keys format); empty = pin on first contact
}

// withDefaults fills what scn.yaml may leave out.
func (h Host) withDefaults() Host {
	if h.Port == 0 {
		h.Port = 22
	}
	if h.User == "" {
		h.User = "root"
	}
	if h.Workspace == "" {
		h.Workspace = DefaultWorkspace
	}
	if h.Role == "" {
		h.Role = RoleGPU
	}
	return h
}

// Options configure a Provider.
type Options struct {
	// StateDir is the project's .scn directory; leases live in
	// StateDir/sshpool. Every scn process of the project must use the same.
	StateDir string
	// Hosts is the whole pool (all roles).
	Hosts []Host
	// Role says which hosts this provider offers and leases: RoleGPU
	// (default) or RoleStandby. Get and Destroy work on any host of the
	// pool, so whichever provider a sweeper asks can release a lease.
	Role string
}

// Provider leases hosts of a pool. It is safe for concurrent use, and any
// number of Providers (in any number of processes) may share a StateDir.
type Provider struct {
	dir   string
	role  string
	hosts []Host // config order: offers of equal price keep it

	mu   sync.Mutex
	lost map[string]bool // hosts this Provider destroyed with cloud.ReasonFailure
	// mine holds the token of the last lease this Provider took on each
	// host, and keeps it once given back: a lease there with another token
	// is someone else's.
	mine map[string]string
}

var (
	_ cloud.Provider       = (*Provider)(nil)
	_ cloud.LabelDestroyer = (*Provider)(nil)
)

// New returns the provider for the hosts of o. It touches nothing on disk
// until a host is leased.
func New(o Options) *Provider {
	p := &Provider{dir: filepath.Join(o.StateDir, "sshpool"), role: o.Role, lost: map[string]bool{}, mine: map[string]string{}}
	if p.role == "" {
		p.role = RoleGPU
	}
	for _, h := range o.Hosts {
		p.hosts = append(p.hosts, h.withDefaults())
	}
	return p
}

// Name is "ssh".
func (p *Provider) Name() string { return ProviderName }

func (p *Provider) host(name string) (Host, bool) {
	for _, h := range p.hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// Offers lists the free hosts of the provider's role that match q. Own
// machines have no reliability score and no advertised disk: they are
// reported as reliability 1 and MinDiskGB is not applied.
func (p *Provider) Offers(ctx context.Context, q cloud.OfferQuery) ([]cloud.Offer, error) {
	order := strings.ToLower(q.Order)
	if order != "" && order != "price" && order != "reliability" {
		return nil, fmt.Errorf("ssh pool: cannot order offers by %q (price or reliability)", q.Order)
	}
	var out []cloud.Offer
	for _, h := range p.hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if h.Role != p.role || !h.matches(q) || p.isLost(h.Name) {
			continue
		}
		leased, err := p.leased(h.Name)
		if err != nil {
			return nil, err
		}
		if leased {
			continue
		}
		out = append(out, h.offer())
	}
	// Every reliability is 1, so either order comes down to price; the
	// stable sort keeps scn.yaml's order between equal prices.
	slices.SortStableFunc(out, func(a, b cloud.Offer) int {
		switch {
		case a.PricePerHour < b.PricePerHour:
			return -1
		case a.PricePerHour > b.PricePerHour:
			return 1
		}
		return 0
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (h Host) matches(q cloud.OfferQuery) bool {
	if q.GPU != "" && !gpuMatches(q.GPU, h.GPU) {
		return false
	}
	if q.NumGPUs > 0 && h.NumGPUs != q.NumGPUs {
		return false
	}
	if q.MaxPrice > 0 && h.PricePerHour > q.MaxPrice {
		return false
	}
	return q.MinReliability <= 1
}

// gpuMatches compares GPU names the way scenarios write them: case does not
// matter and '_' equals ' '. want may list alternatives: "RTX_4090,RTX_3090".
func gpuMatches(want, have string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", " ")) }
	for _, w := range strings.Split(want, ",") {
		if w = norm(w); w != "" && w == norm(have) {
			return true
		}
	}
	return false
}

func (h Host) offer() cloud.Offer {
	return cloud.Offer{
		ID:           h.Name,
		Provider:     ProviderName,
		GPU:          h.GPU,
		NumGPUs:      h.NumGPUs,
		PricePerHour: h.PricePerHour,
		Reliability:  1,
		Location:     h.Host,
	}
}

func (h Host) instance(l lease) *cloud.Instance {
	return &cloud.Instance{
		ID:           h.Name,
		Provider:     ProviderName,
		Label:        l.Label,
		Status:       cloud.StatusRunning, // the host is assumed up: the caller's SSH probe decides readiness
		Host:         h.Host,
		Port:         h.Port,
		User:         h.User,
		Workspace:    h.Workspace,
		GPU:          h.GPU,
		NumGPUs:      h.NumGPUs,
		PricePerHour: h.PricePerHour,
		CreatedAt:    l.Since,
		HostKey:      h.HostKey,
		IdentityFile: h.IdentityFile,
	}
}

// Create leases the host named by req.Offer.ID or, when the offer has no
// id, the first free host of the provider's role whose GPU matches
// req.Offer.GPU (any GPU when empty). A host leased by someone else is a
// *cloud.OfferGoneError saying who holds it and how to free it, so
// instance.create moves on to its next offer.
func (p *Provider) Create(ctx context.Context, req cloud.CreateRequest) (*cloud.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Offer.ID == "" {
		return p.createAny(req)
	}
	h, ok := p.host(req.Offer.ID)
	if !ok {
		return nil, fmt.Errorf("ssh pool: no host named %q in scn.yaml (hosts: %s)", req.Offer.ID, p.names(""))
	}
	if h.Role != p.role {
		return nil, fmt.Errorf("ssh pool: host %s has role %s, not %s: it is handed out by the target's %s provider", h.Name, h.Role, p.role, h.Role)
	}
	if p.isLost(h.Name) {
		return nil, &cloud.OfferGoneError{Offer: h.Name, Detail: lostDetail(h.Name)}
	}
	l, err := p.take(h.Name, req.Label)
	if err != nil {
		return nil, err
	}
	return h.instance(l), nil
}

func (p *Provider) createAny(req cloud.CreateRequest) (*cloud.Instance, error) {
	var busy []string
	for _, h := range p.hosts {
		if h.Role != p.role || (req.Offer.GPU != "" && !gpuMatches(req.Offer.GPU, h.GPU)) {
			continue
		}
		if p.isLost(h.Name) {
			busy = append(busy, lostDetail(h.Name))
			continue
		}
		l, err := p.take(h.Name, req.Label)
		if err == nil {
			return h.instance(l), nil
		}
		if _, gone := err.(*cloud.OfferGoneError); !gone {
			return nil, err
		}
		busy = append(busy, err.Error())
	}
	what := "no " + p.role + " host"
	if req.Offer.GPU != "" {
		what += " with GPU " + req.Offer.GPU
	}
	if len(busy) == 0 {
		return nil, fmt.Errorf("ssh pool: %s in scn.yaml (%s hosts: %s)", what, p.role, p.names(p.role))
	}
	return nil, fmt.Errorf("ssh pool: %s is free:\n  %s", what, strings.Join(busy, "\n  "))
}

// names lists the pool's host names of role ("" = all), for messages.
func (p *Provider) names(role string) string {
	var n []string
	for _, h := range p.hosts {
		if role == "" || h.Role == role {
			n = append(n, h.Name)
		}
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// Get returns a host of the pool as a running instance: labelled by its
// lease when it is leased, unlabelled when it is free — the team's machine
// is there all the same, and a drill may name it (manual-ssh's --var
// source=gpu1). An unknown name is cloud.ErrNotFound, and so is a host this
// Provider destroyed with reason failure: it stands for a dead machine, so
// the run that lost it drops its cleanup (instance.destroy asks) rather than
// "destroy" at its end a host that may be another run's by then.
func (p *Provider) Get(ctx context.Context, id string) (*cloud.Instance, error) {
	h, ok := p.host(id)
	if !ok {
		return nil, fmt.Errorf("ssh pool host %q: %w", id, cloud.ErrNotFound)
	}
	if p.isLost(id) {
		return nil, fmt.Errorf("%s: %w", lostDetail(id), cloud.ErrNotFound)
	}
	l, err := p.readLease(id)
	switch {
	case isNotFound(err):
		return h.instance(lease{Host: id}), nil
	case err != nil:
		return nil, err
	}
	return h.instance(l), nil
}

// List returns the leased hosts of the provider's role whose label starts
// with labelPrefix, in scn.yaml order.
func (p *Provider) List(ctx context.Context, labelPrefix string) ([]cloud.Instance, error) {
	var out []cloud.Instance
	for _, h := range p.hosts {
		if h.Role != p.role {
			continue
		}
		l, err := p.readLease(h.Name)
		switch {
		case isNotFound(err):
			continue
		case err != nil:
			return nil, err
		}
		if strings.HasPrefix(l.Label, labelPrefix) {
			out = append(out, *h.instance(l))
		}
	}
	return out, nil
}

// Destroy gives the host back to the pool. Nothing on the host is touched:
// the machine is the team's, and what the scenario wrote there is the
// scenario's to remove. Either reason releases the lease; with
// cloud.ReasonFailure this Provider also stops handing the host out (see
// the package doc). A Provider that leased the host releases only its own
// lease: once given back, the host may be another run's, and destroying it
// again leaves that lease alone. A Provider that never leased it releases
// whatever lease is there: the user frees a host by name (scn do
// instance.destroy --with id=gpu1). Releasing a host that is not leased
// (by us) is not an error: it is already gone.
func (p *Provider) Destroy(ctx context.Context, id string, reason cloud.DestroyReason) error {
	p.mu.Lock()
	token, took := p.mine[id]
	p.mu.Unlock()
	var ours func(lease) bool
	if took {
		ours = func(l lease) bool { return l.Token == token }
	}
	_, err := p.release(id, ours)
	return p.destroyed(id, reason, err)
}

func (p *Provider) isLost(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lost[name]
}

func lostDetail(name string) string {
	return fmt.Sprintf("host %s was destroyed with reason failure earlier in this process: it stands for a dead machine until the next scn command", name)
}
