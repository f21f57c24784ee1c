// Package vast is the VAST.ai compute provider: it searches offers, rents
// instances, reads their status and SSH address, lists what scn left behind
// and destroys instances, speaking the same REST API as the official CLI
// (vast-ai/vast-cli vast.py) over plain net/http. Rate limits (429 with a
// plain-text body and no Retry-After) and server errors are retried with
// jittered exponential backoff; status polls are spaced at least
// Config.PollInterval apart whoever calls, because VAST throttles per
// endpoint. The API key only ever travels in the Authorization header: no
// error or log line built here contains it.
package vast

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
)

// ProviderName is the provider's name in offers, instances and the ledger.
const ProviderName = "vast"

// DefaultBaseURL is where the official CLI sends its requests unless
// VAST_URL says otherwise.
const DefaultBaseURL = "https://console.vast.ai"

// Defaults applied by New to zero Config fields.
const (
	DefaultImage        = "vastai/base-image:@vastai-automatic-tag" // the API's documented default image
	DefaultDiskGB       = 20
	DefaultRuntype      = "ssh_direc ssh_proxy" // CLI spelling of --ssh --direct: direct port when the host has one, proxy otherwise
	DefaultPollInterval = 5 * time.Second
	// DefaultHTTPTimeout bounds each request, the rent included (which is
	// not cut off by cancellation). A rent can take VAST over a minute to
	// answer; the official client waits 120 s (vast-cli
	// vastai/api/client.py _DEFAULT_TIMEOUT_SECONDS), and so does scn:
	// giving up earlier leaves an instance nobody learnt the id of.
	DefaultHTTPTimeout   = 120 * time.Second
	DefaultRetryBase     = time.Second
	DefaultRetryCap      = 30 * time.Second
	DefaultMaxRetries    = 8
	DefaultDestroyChecks = 24 // × PollInterval: two minutes to see a destroyed instance disappear
	DefaultMaxListPages  = 40 // × 25 instances per page
	Workspace            = "/workspace"
)

// Config says how to reach VAST and what to rent. Zero fields take the
// defaults above.
type Config struct {
	BaseURL string // https://console.vast.ai; VAST_URL overrides it like the CLI
	APIKey  string // VAST_API_KEY; required
	// HTTPClient must have a Timeout: it alone bounds a rent request, which
	// is not cut off by cancellation. nil: a client with DefaultHTTPTimeout.
	HTTPClient *http.Client

	Image   string  // container image for new instances
	DiskGB  float64 // disk for new instances when the request does not say
	Runtype string  // VAST runtype; must include ssh
	// Workspace is the absolute folder instances report as their
	// workspace (created by their onstart script); Workspace when empty.
	// VAST images keep work in /workspace; tests point it at a temporary
	// folder served by their SSH servers.
	Workspace string

	PollInterval  time.Duration // minimum spacing of status polls of one instance
	RetryBase     time.Duration // first backoff after a 429/5xx
	RetryCap      time.Duration // longest backoff
	MaxRetries    int           // retries after the first try
	DestroyChecks int           // status checks after DELETE before giving up on seeing the instance gone
	MaxListPages  int           // bound on List's paging
	// Clock spaces the status polls of an instance and times what scn
	// records of its bill: when a read was sent and answered (a pause
	// VAST made), when VAST accepted a DELETE. nil is the machine's.
	// Tests share one with the fake (vasttest.Options.Clock).
	Clock cloud.Clock
}

// ConfigFromEnv reads VAST_API_KEY and VAST_URL, as the official CLI does.
func ConfigFromEnv() Config {
	return Config{
		BaseURL: os.Getenv("VAST_URL"),
		APIKey:  os.Getenv("VAST_API_KEY"),
	}
}

// Provider talks to one VAST account. It is safe for concurrent use.
type Provider struct {
	cfg  Config
	base string // scheme://host[/prefix], no trailing slash

	pollMu    sync.Mutex
	instances map[string]*tracked // instance id → what this provider saw of it

	keyMu      sync.Mutex      // serialises account-key registration
	keysLoaded map[string]bool // normalised public keys known to be on the account
}

var (
	_ cloud.Provider       = (*Provider)(nil)
	_ cloud.BalanceChecker = (*Provider)(nil)
	_ cloud.BillEnder      = (*Provider)(nil)
	_ cloud.BillPauser     = (*Provider)(nil)
)

// New checks cfg and fills its defaults.
func New(cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("vast: no API key (set VAST_API_KEY)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("vast: API base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Image == "" {
		cfg.Image = DefaultImage
	}
	if cfg.DiskGB <= 0 {
		cfg.DiskGB = DefaultDiskGB
	}
	if cfg.Runtype == "" {
		cfg.Runtype = DefaultRuntype
	}
	if cfg.Workspace == "" {
		cfg.Workspace = Workspace
	}
	cfg.Clock = cloud.ClockOr(cfg.Clock)
	if !path.IsAbs(cfg.Workspace) {
		return nil, fmt.Errorf("vast: workspace %q is not an absolute path", cfg.Workspace)
	}
	if !strings.Contains(cfg.Runtype, "ssh") {
		return nil, fmt.Errorf("vast: runtype %q has no ssh: scn reaches instances over SSH", cfg.Runtype)
	}
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.RetryBase, DefaultRetryBase)
	setDefault(&cfg.RetryCap, DefaultRetryCap)
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.DestroyChecks <= 0 {
		cfg.DestroyChecks = DefaultDestroyChecks
	}
	if cfg.MaxListPages <= 0 {
		cfg.MaxListPages = DefaultMaxListPages
	}
	return &Provider{
		cfg:        cfg,
		base:       strings.TrimRight(cfg.BaseURL, "/"),
		instances:  map[string]*tracked{},
		keysLoaded: map[string]bool{},
	}, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Name is ProviderName.
func (p *Provider) Name() string { return ProviderName }

// Balance returns the account's prepaid credit in USD. VAST reports it as
// `credit`; `balance` is used when an account has no credit field.
func (p *Provider) Balance(ctx context.Context) (float64, error) {
	var user struct {
		Balance *float64 `json:"balance"`
		Credit  *float64 `json:"credit"`
	}
	if err := p.do(ctx, request{method: http.MethodGet, path: "/api/v0/users/current/", out: &user, idempotent: true}); err != nil {
		return 0, fmt.Errorf("reading VAST account balance: %w", err)
	}
	switch {
	case user.Credit != nil:
		return *user.Credit, nil
	case user.Balance != nil:
		return *user.Balance, nil
	}
	return 0, errors.New("reading VAST account balance: the answer has neither credit nor balance")
}

// tracked is what a provider keeps of one instance, under pollMu.
type tracked struct {
	lastPoll time.Time // when its status was last asked
	// pause: where its reads saw VAST stop billing parts of it (Paused).
	// Kept after the destroy: the bill needs it.
	pause cloud.BillPause
	// deleted: when VAST accepted its DELETE; zero until then. Reads sent
	// after it (VAST may show the instance a while, as exited) say
	// nothing of a bill that ended there, and change no pause.
	deleted time.Time
	// unshown: this provider rented it and no answer has shown it yet.
	// VAST may not show a new instance at once (see Get): until it does,
	// its null is not news that it is gone.
	unshown bool
}

// track returns what p keeps of instance id, made on first use. The
// caller holds pollMu.
func (p *Provider) track(id string) *tracked {
	t := p.instances[id]
	if t == nil {
		t = &tracked{}
		p.instances[id] = t
	}
	return t
}

// shown reports whether VAST has shown instance id, or accepted its
// DELETE, since this provider rented it (observe, billingEnded); always
// true for an instance it did not rent.
func (p *Provider) shown(id string) bool {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	t := p.instances[id]
	return t == nil || !t.unshown
}

// forgetPolls drops the poll history of an instance that is gone.
func (p *Provider) forgetPolls(id string) {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	p.track(id).lastPoll = time.Time{}
}

// waitPollSlot blocks until id's status may be asked again, so that
// however often callers poll, VAST sees at most one status request per
// PollInterval per instance.
func (p *Provider) waitPollSlot(ctx context.Context, id string) error {
	p.pollMu.Lock()
	inst := p.track(id)
	next := inst.lastPoll.Add(p.cfg.PollInterval)
	now := p.cfg.Clock.Now()
	if next.Before(now) {
		next = now
	}
	inst.lastPoll = next // reserve the slot before sleeping: concurrent callers queue up
	p.pollMu.Unlock()
	return p.cfg.Clock.Sleep(ctx, next.Sub(p.cfg.Clock.Now()))
}
