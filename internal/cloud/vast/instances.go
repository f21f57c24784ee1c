package vast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
)

// maxOnStart is VAST's limit on the onstart script.
const maxOnStart = 4048

// createBody is what the CLI's `create instance --ssh --direct` sends.
type createBody struct {
	ClientID      string            `json:"client_id"`
	Image         string            `json:"image"`
	Disk          float64           `json:"disk"`
	Label         string            `json:"label"`
	Runtype       string            `json:"runtype"`
	OnStart       string            `json:"onstart"`
	Env           map[string]string `json:"env"`
	CancelUnavail bool              `json:"cancel_unavail"`
}

// Create rents the offer (PUT /api/v0/asks/{offer}/) and returns the new
// instance as soon as VAST has given it an id. The request's public key is
// registered on the account first: VAST copies account keys into an
// instance when it is created, and its API notes say keys must be
// registered BEFORE creating (a key attached afterwards is not guaranteed
// to reach a container that has already started, and a failed attach would
// leave a billed machine nobody can enter). Once sent, the rent request is
// not cut off by ctx: if VAST rents, Create returns the instance even when
// ctx was cancelled meanwhile, so that the caller can destroy it.
func (p *Provider) Create(ctx context.Context, req cloud.CreateRequest) (*cloud.Instance, error) {
	offerID, err := strconv.ParseInt(req.Offer.ID, 10, 64)
	if err != nil || offerID <= 0 {
		return nil, fmt.Errorf("vast: offer id %q is not a VAST offer id", req.Offer.ID)
	}
	if req.Offer.Provider != "" && req.Offer.Provider != ProviderName {
		return nil, fmt.Errorf("vast: offer %s comes from provider %q", req.Offer.ID, req.Offer.Provider)
	}
	if strings.TrimSpace(req.Label) == "" {
		return nil, fmt.Errorf("vast: renting offer %s: a label is required so that cleanup can find the instance", req.Offer.ID)
	}
	// The workspace must exist whatever the image: scn's scenarios and
	// snapshots address it before anything else runs.
	onstart := "mkdir -p " + p.cfg.Workspace
	if s := strings.TrimSpace(req.OnStart); s != "" {
		onstart += "\n" + s
	}
	if len(onstart) > maxOnStart {
		return nil, fmt.Errorf("vast: renting offer %s: onstart script is %d bytes, VAST accepts %d", req.Offer.ID, len(onstart), maxOnStart)
	}
	if req.PublicKey != "" {
		if err := p.ensureAccountKey(ctx, req.PublicKey); err != nil {
			return nil, fmt.Errorf("vast: renting offer %s: %w", req.Offer.ID, err)
		}
	}
	body := createBody{
		ClientID:      "me",
		Image:         req.Image,
		Disk:          req.DiskGB,
		Label:         req.Label,
		Runtype:       p.cfg.Runtype,
		OnStart:       onstart,
		Env:           req.Env,
		CancelUnavail: true, // fail now rather than leave a stopped, unschedulable instance
	}
	if body.Image == "" {
		body.Image = p.cfg.Image
	}
	if body.Disk <= 0 {
		body.Disk = p.cfg.DiskGB
	}
	if body.Env == nil {
		body.Env = map[string]string{}
	}
	var resp struct {
		Success     bool   `json:"success"`
		NewContract int64  `json:"new_contract"`
		Error       string `json:"error"`
		Msg         string `json:"msg"`
	}
	path := fmt.Sprintf("/api/v0/asks/%d/", offerID)
	err = p.do(ctx, request{method: http.MethodPut, path: path, body: body, out: &resp, detached: true})
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound && !ae.notFound():
		// VAST says "Offer not found or not available" with a JSON body
		// (vast-ai/docs create_instance.yaml). A 404 page that is not
		// (a proxy's, a wrong VAST_URL's) says nothing of the offer, nor
		// whether the rent reached VAST: as with a lost answer, cleanup
		// looks for the instance by its label.
		return nil, &AmbiguousError{Err: fmt.Errorf("vast: renting offer %s: %w, not VAST's own answer (is VAST_URL right?); the instance may exist anyway: cleanup finds it by its label %q",
			req.Offer.ID, err, req.Label)}
	case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusGone || ae.Code == "no_such_ask"):
		return nil, &cloud.OfferGoneError{Offer: req.Offer.ID, Detail: firstNonEmpty(ae.Msg, ae.Code, http.StatusText(ae.Status))}
	case errors.As(err, new(*AmbiguousError)):
		return nil, fmt.Errorf("vast: renting offer %s: %w; the instance may exist anyway: cleanup finds it by its label %q", req.Offer.ID, err, req.Label)
	case err != nil:
		return nil, fmt.Errorf("vast: renting offer %s: %w", req.Offer.ID, err)
	case resp.Error == "no_such_ask":
		return nil, &cloud.OfferGoneError{Offer: req.Offer.ID, Detail: firstNonEmpty(resp.Msg, resp.Error)}
	case !resp.Success:
		return nil, fmt.Errorf("vast: renting offer %s: VAST did not confirm: %s", req.Offer.ID, firstNonEmpty(resp.Msg, resp.Error, "success is false"))
	case resp.NewContract <= 0:
		// success without the contract's number: it was made, but scn cannot
		// name it; cleanup finds it by its label.
		return nil, &AmbiguousError{Err: fmt.Errorf("vast: renting offer %s: VAST said success but gave no new_contract; the instance may exist anyway: cleanup finds it by its label %q", req.Offer.ID, req.Label)}
	}
	id := strconv.FormatInt(resp.NewContract, 10)
	p.pollMu.Lock()
	p.track(id).unshown = true
	p.pollMu.Unlock()
	return &cloud.Instance{
		ID:           id,
		Provider:     ProviderName,
		Label:        req.Label,
		Status:       cloud.StatusCreating,
		User:         "root",
		Workspace:    p.cfg.Workspace,
		GPU:          req.Offer.GPU,
		NumGPUs:      req.Offer.NumGPUs,
		PricePerHour: req.Offer.PricePerHour,
		CreatedAt:    p.cfg.Clock.Now().UTC(),
	}, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func instanceNumber(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("vast: instance id %q is not a VAST instance id: %w", id, cloud.ErrNotFound)
	}
	return n, nil
}

// Get reads one instance (GET /api/v0/instances/{id}/). VAST answers
// {"instances": null} for an instance it does not know or no longer has
// (vast-cli vast.py show__instance): that, and a 404 in VAST's JSON, is
// cloud.ErrNotFound; a 404 page from elsewhere (a wrong base URL) is an
// error, not news that the instance is gone. So is that answer about an
// instance this provider rented and VAST has not shown yet: the official
// client's wait after a rent retries on it (vast-cli vast.py
// wait_for_instance, "No information returned for instance … Retrying"),
// and giving such an instance up would leave it billed. Calls for the
// same instance are spaced at least PollInterval apart.
func (p *Provider) Get(ctx context.Context, id string) (*cloud.Instance, error) {
	n, err := instanceNumber(id)
	if err != nil {
		return nil, err
	}
	if err := p.waitPollSlot(ctx, id); err != nil {
		return nil, err
	}
	sent := p.cfg.Clock.Now()
	var resp struct {
		Instances *wireInstance `json:"instances"`
	}
	err = p.do(ctx, request{method: http.MethodGet, path: fmt.Sprintf("/api/v0/instances/%d/", n), out: &resp, idempotent: true})
	var ae *APIError
	switch {
	case (errors.As(err, &ae) && ae.notFound()) || (err == nil && resp.Instances == nil):
		if !p.shown(id) {
			return nil, fmt.Errorf("vast instance %s: rented, not shown by VAST yet", id)
		}
		return nil, fmt.Errorf("vast instance %s: %w", id, cloud.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("reading vast instance %s: %w", id, err)
	}
	inst := toInstance(resp.Instances, p.cfg.Workspace)
	if inst.ID == "0" { // some answers omit the id of the contract asked for
		inst.ID = id
	}
	p.observe(id, str(resp.Instances.ActualStatus), sent, p.cfg.Clock.Now())
	return &inst, nil
}

// observe notes a read, sent at sent and answered at answered, saying
// instance id's actual_status is actual. VAST bills the GPU while the
// instance is running or frozen, only the disk while it is stopped
// (docs.vast.ai, show-instance: "stopped — Disk charges continue; no GPU
// charges"; an interruptible instance outbid is stopped), and nothing
// while it is offline (vast-ai/docs billing.mdx: "You are not charged
// active rental or storage costs for instances that are currently
// offline"). The change came after the last read saying otherwise and
// before this one was answered: a pause starts at the answer, so that scn
// never bills less than VAST did. An intended_status of stopped with the
// machine still running is still billed, so actual_status decides. exited
// and unknown change nothing: the docs do not say, and billing them keeps
// the cost an upper bound; so does a pause that ends, which is forgotten.
// A read sent after the DELETE VAST accepted changes nothing: the bill
// ended there (billingEnded). Either way VAST has shown the instance: a
// null from now on means it is gone.
func (p *Provider) observe(id, actual string, sent, answered time.Time) {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	t := p.track(id)
	t.unshown = false
	if !t.deleted.IsZero() && !sent.Before(t.deleted) {
		return
	}
	pause := t.pause
	status := strings.ToLower(actual)
	if status != cloud.StatusOffline {
		pause.Storage = time.Time{} // online again: its disk billed as if never offline
	}
	switch status {
	case cloud.StatusRunning, statusFrozen:
		pause = cloud.BillPause{} // billed again: as if it never stopped
	case cloud.StatusStopped, cloud.StatusOffline:
		if pause.Machine.IsZero() {
			pause.Machine = answered.UTC()
		}
		if status == cloud.StatusOffline && pause.Storage.IsZero() {
			pause.Storage = answered.UTC()
		}
	}
	t.pause = pause
}

// billingEnded notes that VAST accepted instance id's DELETE, sent at at:
// reads sent since say nothing of its bill (see observe). The DELETE's
// own send time, not its answer's, so that a read VAST answered after it
// had deleted the instance cannot undo a pause either. VAST knows the
// instance, shown or not: a null from now on means it is gone.
func (p *Provider) billingEnded(id string, at time.Time) {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	t := p.track(id)
	t.unshown = false
	if t.deleted.IsZero() {
		t.deleted = at
	}
}

// statusFrozen is VAST's actual_status of an instance paused with its
// memory kept: its GPU is billed as when it runs.
const statusFrozen = "frozen"

// Paused is where VAST stopped billing parts of instance id, as scn's reads
// saw it (cloud.BillPauser); zero times where no read did.
func (p *Provider) Paused(id string) cloud.BillPause {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	if t := p.instances[id]; t != nil {
		return t.pause
	}
	return cloud.BillPause{}
}

// listPageSize is VAST's maximum page for GET /api/v1/instances/.
const listPageSize = 25

// List returns the instances whose label starts with labelPrefix ("" means
// every scn instance: "scn-"). VAST has no "starts with" operator, so it
// is asked for label >= prefix, pages with after_token in the order the
// official clients ask for (id ascending: vast-cli vastai/api/instances.py
// show_instances), and the prefix is checked here. No upper bound: where
// "scn-r." falls among the "scn-r-…" labels depends on the database's
// collation, which VAST does not document (a locale may weigh "." and
// "-" otherwise than bytes do), and a label List misses is an instance
// cleanup leaves billed. A string that starts with the prefix sorts at
// or after it in any collation that compares prefixes as prefixes.
func (p *Provider) List(ctx context.Context, labelPrefix string) ([]cloud.Instance, error) {
	if labelPrefix == "" {
		labelPrefix = "scn-"
	}
	filters, _ := json.Marshal(map[string]any{"label": map[string]string{"gte": labelPrefix}})
	q := url.Values{
		"limit":          {strconv.Itoa(listPageSize)},
		"select_filters": {string(filters)},
		"order_by":       {`[{"col":"id","dir":"asc"}]`},
	}
	var out []cloud.Instance
	seen := map[string]bool{}
	for page := 0; page < p.cfg.MaxListPages; page++ {
		var resp struct {
			Instances []wireInstance `json:"instances"`
			NextToken *string        `json:"next_token"`
		}
		if err := p.do(ctx, request{method: http.MethodGet, path: "/api/v1/instances/", query: q, out: &resp, idempotent: true}); err != nil {
			return nil, fmt.Errorf("listing vast instances labelled %s*: %w", labelPrefix, err)
		}
		for i := range resp.Instances {
			if inst := toInstance(&resp.Instances[i], p.cfg.Workspace); strings.HasPrefix(inst.Label, labelPrefix) {
				out = append(out, inst)
			}
		}
		next := str(resp.NextToken)
		if next == "" {
			return out, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("listing vast instances labelled %s*: VAST repeated page token %q", labelPrefix, next)
		}
		seen[next] = true
		q.Set("after_token", next)
	}
	return nil, fmt.Errorf("listing vast instances labelled %s*: more than %d pages of %d", labelPrefix, p.cfg.MaxListPages, listPageSize)
}

// Destroy deletes the instance (DELETE /api/v0/instances/{id}/) — the only
// call that stops billing — then checks, at most DestroyChecks times
// PollInterval apart, that VAST no longer knows it; if it still does, the
// DELETE is sent once more before giving up. An instance already gone is
// not an error. VAST cannot keep a disk after its instance: reason
// "failure" destroys like "user".
func (p *Provider) Destroy(ctx context.Context, id string, reason cloud.DestroyReason) error {
	_, err := p.DestroyBilled(ctx, id, reason)
	return err
}

// DestroyBilled is Destroy, returning when VAST accepted the DELETE: VAST
// bills per second until then (vast.ai/pricing: "Per-second billing"),
// not until the later status read that confirms the instance is gone. An
// instance already gone returns the time of the answer saying so.
func (p *Provider) DestroyBilled(ctx context.Context, id string, reason cloud.DestroyReason) (time.Time, error) {
	n, err := instanceNumber(id)
	if err != nil {
		return time.Time{}, err
	}
	path := fmt.Sprintf("/api/v0/instances/%d/", n)
	last := "no status read"
	var accepted time.Time
	for round := 0; round < 2; round++ {
		var resp struct {
			Success *bool  `json:"success"`
			Msg     string `json:"msg"`
		}
		sent := p.cfg.Clock.Now()
		err := p.do(ctx, request{method: http.MethodDelete, path: path, body: struct{}{}, out: &resp, idempotent: true})
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.notFound() && p.shown(id):
			// VAST's {"error": "not_found"} (vast-ai/docs destroy_instance.yaml).
			return firstTime(accepted, p.cfg.Clock.Now().UTC()), nil
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			// Not VAST's answer, or about an instance it has not shown
			// yet (see Get): only a status read can tell it is gone.
			last = "DELETE answered: " + err.Error()
		case err != nil:
			return time.Time{}, fmt.Errorf("destroying vast instance %s: %w", id, err)
		case resp.Success != nil && !*resp.Success:
			last = "DELETE answered: " + firstNonEmpty(resp.Msg, "success false")
		default:
			accepted = firstTime(accepted, p.cfg.Clock.Now().UTC())
			p.billingEnded(id, sent)
		}
		for i := 0; i < p.cfg.DestroyChecks; i++ {
			inst, err := p.Get(ctx, id)
			switch {
			case errors.Is(err, cloud.ErrNotFound):
				p.forgetPolls(id)
				return firstTime(accepted, p.cfg.Clock.Now().UTC()), nil
			case ctx.Err() != nil:
				return time.Time{}, fmt.Errorf("destroying vast instance %s: DELETE sent, not yet confirmed: %w", id, ctx.Err())
			case err != nil:
				last = err.Error()
			default:
				last = "status " + inst.Status
			}
		}
	}
	if !p.shown(id) {
		// Rented, but no answer has shown it or taken its DELETE: it may
		// yet appear, billed (see Get).
		return time.Time{}, fmt.Errorf("destroying vast instance %s: VAST has not shown it since it was rented, nor accepted its DELETE, after two DELETEs and %d checks (%s): it may still appear and be billed", id, 2*p.cfg.DestroyChecks, last)
	}
	return time.Time{}, fmt.Errorf("destroying vast instance %s: VAST still lists it after two DELETEs and %d checks (%s): it may still be billed", id, 2*p.cfg.DestroyChecks, last)
}

// firstTime is a unless it is zero, else b.
func firstTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}
