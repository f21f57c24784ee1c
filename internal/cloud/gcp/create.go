package gcp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	compute "google.golang.org/api/compute/v1"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote"
)

// Label keys and the metadata key scn puts on every VM. Label values are
// squeezed into Compute Engine's alphabet, so the exact scn label is kept in
// metadata too.
const (
	labelRun      = "scn-run"
	labelLabel    = "scn-label"
	metadataLabel = "scn-label"
)

// terminationAction is what Compute Engine does to a preempted Spot VM. scn
// picks DELETE: a stopped VM keeps billing for its disk and scn has no way to
// restart it (a standby is replaced, not resumed), so DELETE is the choice
// that leaves nothing to pay for if scn itself dies before cleaning up.
const terminationAction = "DELETE"

// abandonTimeout bounds the clean-up of a VM whose creation was interrupted.
const abandonTimeout = time.Minute

// Create inserts a VM and returns once Compute Engine reports the insert
// operation DONE (the VM exists, usually booting: see cloud.WaitReady). The
// instance id is the VM name. If ctx ends while waiting, the VM is deleted
// before returning, since the caller never learns its id.
func (p *Provider) Create(ctx context.Context, req cloud.CreateRequest) (*cloud.Instance, error) {
	key, err := authorizedKey(req.PublicKey)
	if err != nil {
		return nil, err
	}
	p.loadPrices(ctx) // the VM is priced from Google's price list even when no offer search ran
	image := p.image
	if req.Image != "" {
		if image, err = resolveImage(req.Image); err != nil {
			return nil, err
		}
	}
	machine := p.cfg.MachineType
	if req.Offer.Provider == p.Name() && req.Offer.GPU != "" {
		machine = req.Offer.GPU
	}
	name := vmName(req.Label)
	vm := p.resource(name, machine, image, key, req)
	reqID := newRequestID()
	op, err := call(ctx, p, func() (*compute.Operation, error) {
		return p.svc.Instances.Insert(p.cfg.Project, p.cfg.Zone, vm).RequestId(reqID).Context(ctx).Do()
	})
	if err != nil {
		// Interrupted, or out of retries on 5xx/transport errors: the insert
		// may have been taken before its answer was lost, so the VM (whose
		// name scn chose) is deleted. A refusal (4xx) made nothing.
		err = wrap(fmt.Sprintf("create VM %s (%s in %s)", name, machine, p.cfg.Zone), err)
		if ctx.Err() != nil || transient(err) {
			return nil, p.abandon(ctx, nil, name, err)
		}
		return nil, err
	}
	if err := p.waitOp(ctx, op); err != nil && !isNotFound(err) {
		// (a 404 means the operation was garbage-collected before we saw it
		// DONE: the VM itself tells below.)
		var opErr *operationError
		switch {
		case errors.As(err, &opErr) && opErr.stockout():
			return nil, &cloud.OfferGoneError{Offer: p.offerID(machine), Detail: opErr.Error()}
		case errors.As(err, &opErr):
			return nil, fmt.Errorf("gcp: create VM %s (%s in %s) failed: %s", name, machine, p.cfg.Zone, opErr)
		default:
			return nil, p.abandon(ctx, op, name, wrap("wait for the creation of VM "+name, err))
		}
	}
	inst, err := p.Get(ctx, name)
	if errors.Is(err, cloud.ErrNotFound) { // preempted at once, and deleted
		return nil, fmt.Errorf("gcp: VM %s vanished right after its creation (Spot capacity reclaimed?): %w", name, err)
	}
	if err != nil {
		// The VM exists: hand back its id so the caller can track and destroy it.
		pq := p.price(machine, !p.cfg.OnDemand)
		return &cloud.Instance{ID: name, Provider: p.Name(), Label: req.Label, Status: cloud.StatusCreating,
			User: p.cfg.User, Workspace: p.cfg.Workspace, GPU: machine, PricePerHour: pq.perHour,
			PriceSource: pq.source, Estimated: pq.estimated, CreatedAt: time.Now(), MinBilledSeconds: minBilledSeconds}, nil
	}
	return inst, nil
}

// unseenPolls bounds how often abandon looks again for a VM whose insert
// may have been accepted but not started: Compute Engine answers 404 for
// such a VM until its insert operation starts, typically seconds (Google's
// Daisy looks three times over 6 to 12 s: compute-daisy instance.go,
// deleteFn); 5 polls are 10 s by default. Past that the creation is left
// uncertain, for `scn cleanup`.
const unseenPolls = 5

// abandon deletes a VM whose creation scn stopped watching (ctx ended, or
// the wait failed), with a fresh bounded context: it lets the insert
// operation (when known) finish first, since Compute Engine refuses to
// delete a VM still being created. Only an insert operation seen DONE
// proves that a 404 means no VM: otherwise the insert may be accepted and
// not started yet, so the delete is tried again a few polls later, and a
// VM still not found leaves the creation uncertain.
func (p *Provider) abandon(ctx context.Context, insert *compute.Operation, name string, cause error) error {
	settled := false // the insert operation is DONE: a 404 now means no VM will appear
	if insert != nil {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*p.cfg.PollInterval)
		err := p.waitOp(wctx, insert) // not DONE in time: the deletes below find out
		cancel()
		var opErr *operationError
		settled = err == nil || errors.As(err, &opErr)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonTimeout)
	defer cancel()
	for poll := 0; ; poll++ {
		found, err := p.destroy(cctx, name)
		switch {
		case err != nil:
			return &abandonedError{fmt.Errorf("gcp: creation of VM %s interrupted (%w), and deleting it failed: %v — run `scn cleanup`", name, cause, err)}
		case found:
			return fmt.Errorf("gcp: creation of VM %s interrupted, VM deleted: %w", name, cause)
		case settled:
			return fmt.Errorf("gcp: creation of VM %s interrupted, no VM is left: %w", name, cause)
		case poll >= unseenPolls:
			return &abandonedError{fmt.Errorf("gcp: creation of VM %s interrupted (%w); no VM of that name exists yet, but Compute Engine may still create it — run `scn cleanup`", name, cause)}
		}
		select {
		case <-cctx.Done():
			return &abandonedError{fmt.Errorf("gcp: creation of VM %s interrupted (%w), and whether it exists is unknown: %v — run `scn cleanup`", name, cause, cctx.Err())}
		case <-time.After(p.cfg.PollInterval):
		}
	}
}

// abandonedError is a creation scn gave up on whose VM may still exist: it
// is uncertain (cloud.IsUncertain), so the ledger's intent stays open and
// `scn cleanup` looks the VM up by its label.
type abandonedError struct{ err error }

func (e *abandonedError) Error() string   { return e.err.Error() }
func (e *abandonedError) Unwrap() error   { return e.err }
func (e *abandonedError) Uncertain() bool { return true }

// authorizedKey checks the key the VM must accept and returns it on one line.
func authorizedKey(line string) (string, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", fmt.Errorf("gcp: no SSH public key in the create request: the VM would accept no login")
	}
	if strings.ContainsAny(line, "\r\n") {
		return "", fmt.Errorf("gcp: SSH public key must be a single authorized_keys line")
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
		return "", fmt.Errorf("gcp: SSH public key is not an authorized_keys line: %v", err)
	}
	return line, nil
}

// resource is the Instance body of the insert.
func (p *Provider) resource(name, machine, image, key string, req cloud.CreateRequest) *compute.Instance {
	disk := int64(p.cfg.DiskGB)
	if req.DiskGB > 0 {
		disk = max(int64(math.Ceil(req.DiskGB)), 10)
	}
	sched := &compute.Scheduling{ProvisioningModel: "STANDARD", OnHostMaintenance: "MIGRATE", AutomaticRestart: ptr(true)}
	if !p.cfg.OnDemand {
		// Spot VMs cannot live-migrate or restart on their own.
		sched = &compute.Scheduling{ProvisioningModel: "SPOT", InstanceTerminationAction: terminationAction,
			OnHostMaintenance: "TERMINATE", AutomaticRestart: ptr(false)}
	}
	runID := req.RunID
	if runID == "" {
		runID = "none"
	}
	meta := []*compute.MetadataItems{
		{Key: "ssh-keys", Value: ptr(p.cfg.User + ":" + key)},
		{Key: "enable-oslogin", Value: ptr("FALSE")},
		{Key: "startup-script", Value: ptr(startupScript(p.cfg.User, p.cfg.Workspace, req.Env, req.OnStart))},
		{Key: metadataLabel, Value: ptr(req.Label)},
	}
	return &compute.Instance{
		Name:        name,
		MachineType: fmt.Sprintf("zones/%s/machineTypes/%s", p.cfg.Zone, machine),
		Disks: []*compute.AttachedDisk{{
			Boot: true, AutoDelete: true, Type: "PERSISTENT",
			InitializeParams: &compute.AttachedDiskInitializeParams{SourceImage: image, DiskSizeGb: disk},
		}},
		NetworkInterfaces: []*compute.NetworkInterface{{
			Network:       "global/networks/default",
			AccessConfigs: []*compute.AccessConfig{{Type: "ONE_TO_ONE_NAT", Name: "External NAT"}},
		}},
		Metadata:   &compute.Metadata{Items: meta},
		Scheduling: sched,
		Labels:     map[string]string{labelRun: labelValue(runID), labelLabel: labelValue(req.Label)},
	}
}

func ptr[T any](v T) *T { return &v }

// startupScript runs as root at every boot. It creates the SSH user itself
// (the guest agent, which also creates it from ssh-keys, may run later and
// then only adds the key) and the workspace owned by that user, then runs
// the request's environment and on-start commands.
func startupScript(user, workspace string, env map[string]string, onStart string) string {
	var b strings.Builder
	u, ws := remote.Quote(user), remote.Quote(workspace)
	fmt.Fprintf(&b, "#!/bin/bash\n# scn standby: workspace for %s\nset -eu\n", user)
	fmt.Fprintf(&b, "id -u %s >/dev/null 2>&1 || useradd --create-home --shell /bin/bash %s || id -u %s >/dev/null\n", u, u, u)
	fmt.Fprintf(&b, "mkdir -p %s\nchown %s: %s\n", ws, u, ws)
	keys := make([]string, 0, len(env))
	for k := range env {
		if envName.MatchString(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, remote.Quote(env[k]))
	}
	if s := strings.TrimSpace(onStart); s != "" {
		fmt.Fprintf(&b, "cd %s\n%s\n", ws, s)
	}
	return b.String()
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// vmName derives a unique Compute Engine name from an scn label:
// [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters, ending in a random
// suffix so two runs with the same label never collide.
func vmName(label string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(label) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		b.WriteRune(r)
		dash = false
	}
	base := b.String()
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "scn-" + base
	}
	const suffix = 7 // "-" + 6 random characters
	if len(base) > 63-suffix {
		base = base[:63-suffix]
	}
	return strings.TrimRight(base, "-") + "-" + randomSuffix(6)
}

func randomSuffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// labelValue squeezes s into a label value: lowercase [a-z0-9_-], ≤ 63.
func labelValue(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return string(b)
}
