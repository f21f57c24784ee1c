package actiontest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
)

// Provider is an in-memory compute provider: offers from a list, instances
// in a map. A created instance is running at once, with a folder of its
// own (a workspace inside) that Shell reaches; nothing is billed, nothing
// listens. Safe for concurrent use.
type Provider struct {
	ProviderName string
	Catalogue    []cloud.Offer
	// Refuse, when set, is asked before each create: an error fails it
	// (a *cloud.OfferGoneError for an offer rented by someone else).
	Refuse func(offer cloud.Offer) error
	// FailDestroy makes the next FailDestroy destroys fail, as an API
	// answering 500 would.
	FailDestroy int

	t         testing.TB
	mu        sync.Mutex
	n         int
	instances map[string]cloud.Instance
	destroyed []string
}

var _ cloud.Provider = (*Provider)(nil)

// NewProvider makes a provider called name offering offers; the folders
// of its machines are the test's temporary directories.
func NewProvider(t testing.TB, name string, offers ...cloud.Offer) *Provider {
	return &Provider{ProviderName: name, Catalogue: offers, t: t, instances: map[string]cloud.Instance{}}
}

// Add puts inst on the provider as it is (any status, any folder).
func (p *Provider) Add(inst cloud.Instance) {
	if inst.Provider == "" {
		inst.Provider = p.ProviderName
	}
	p.mu.Lock()
	p.instances[inst.ID] = inst
	p.mu.Unlock()
}

// Machine adds a running instance id with a fresh folder and an empty
// workspace in it, and returns it.
func (p *Provider) Machine(id string) cloud.Instance {
	ws := filepath.Join(p.t.TempDir(), "workspace")
	if err := os.Mkdir(ws, 0o755); err != nil {
		p.t.Fatal(err)
	}
	inst := cloud.Instance{ID: id, Provider: p.ProviderName, Status: cloud.StatusRunning, Host: "127.0.0.1", Port: 22,
		User: "root", Workspace: ws, CreatedAt: time.Now().UTC()}
	p.Add(inst)
	return inst
}

// Name implements cloud.Provider.
func (p *Provider) Name() string { return p.ProviderName }

// Offers implements cloud.Provider: the catalogue's offers matching q,
// cheapest first.
func (p *Provider) Offers(_ context.Context, q cloud.OfferQuery) ([]cloud.Offer, error) {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "_")) }
	var out []cloud.Offer
	for _, o := range p.Catalogue {
		if (q.GPU == "" || norm(q.GPU) == norm(o.GPU)) && (q.NumGPUs == 0 || q.NumGPUs == o.NumGPUs) &&
			(q.MaxPrice == 0 || o.PricePerHour <= q.MaxPrice) {
			o.Provider = p.ProviderName
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PricePerHour < out[j].PricePerHour })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Create implements cloud.Provider: a running machine from the offer.
func (p *Provider) Create(_ context.Context, req cloud.CreateRequest) (*cloud.Instance, error) {
	if p.Refuse != nil {
		if err := p.Refuse(req.Offer); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	p.n++
	id := fmt.Sprintf("%s-%d", p.ProviderName, p.n)
	p.mu.Unlock()
	inst := p.Machine(id)
	inst.Label, inst.GPU, inst.NumGPUs, inst.PricePerHour = req.Label, req.Offer.GPU, req.Offer.NumGPUs, req.Offer.PricePerHour
	p.Add(inst)
	return &inst, nil
}

// Get implements cloud.Provider.
func (p *Provider) Get(_ context.Context, id string) (*cloud.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inst, ok := p.instances[id]
	if !ok {
		return nil, cloud.ErrNotFound
	}
	return &inst, nil
}

// List implements cloud.Provider: the instances whose label starts with
// prefix, by id.
func (p *Provider) List(_ context.Context, prefix string) ([]cloud.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []cloud.Instance
	for _, inst := range p.instances {
		if strings.HasPrefix(inst.Label, prefix) {
			out = append(out, inst)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Destroy implements cloud.Provider: the instance is gone (its folder
// stays until the test ends); one already gone is not an error, as the
// interface says.
func (p *Provider) Destroy(_ context.Context, id string, _ cloud.DestroyReason) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.FailDestroy > 0 {
		p.FailDestroy--
		return fmt.Errorf("destroy %s: the provider answered 500", id)
	}
	if _, ok := p.instances[id]; !ok {
		return nil
	}
	delete(p.instances, id)
	p.destroyed = append(p.destroyed, id)
	return nil
}

// Alive lists the ids of the instances not destroyed, sorted.
func (p *Provider) Alive() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for id := range p.instances {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Destroyed lists the ids destroyed, in order.
func (p *Provider) Destroyed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.destroyed...)
}
