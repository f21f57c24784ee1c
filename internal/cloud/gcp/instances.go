package gcp

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	compute "google.golang.org/api/compute/v1"

	"github.com/scnlabs/scn/internal/cloud"
)

// goneTimeout bounds how long Destroy watches a VM disappear when its delete
// operation can no longer be read.
const goneTimeout = 5 * time.Minute

// Get reads the VM. Compute Engine statuses map onto scn's: PENDING,
// PROVISIONING, STAGING → loading; RUNNING → running (with its external IP,
// port 22); STOPPING, STOPPED, SUSPENDED, TERMINATED and friends → exited,
// which is how a preempted Spot VM looks until it is deleted; REPAIRING →
// offline. A VM that no longer exists is cloud.ErrNotFound.
func (p *Provider) Get(ctx context.Context, id string) (*cloud.Instance, error) {
	vm, err := call(ctx, p, func() (*compute.Instance, error) {
		return p.svc.Instances.Get(p.cfg.Project, p.cfg.Zone, id).Context(ctx).Do()
	})
	if isNotFound(err) {
		return nil, p.notFound(id)
	}
	if err != nil {
		return nil, wrap("read VM "+id, err)
	}
	return p.instance(vm), nil
}

// List returns the VMs scn created (those with an scn-run label), across all
// runs, whose scn label starts with labelPrefix.
func (p *Provider) List(ctx context.Context, labelPrefix string) ([]cloud.Instance, error) {
	var out []cloud.Instance
	token := ""
	for page := 0; ; page++ {
		if page > 1000 { // 500 per page: far beyond any quota
			return out, fmt.Errorf("gcp: list VMs in %s/%s: too many pages", p.cfg.Project, p.cfg.Zone)
		}
		list, err := call(ctx, p, func() (*compute.InstanceList, error) {
			return p.svc.Instances.List(p.cfg.Project, p.cfg.Zone).Filter("labels." + labelRun + ":*").
				PageToken(token).Context(ctx).Do()
		})
		if err != nil {
			return out, wrap(fmt.Sprintf("list VMs in %s/%s", p.cfg.Project, p.cfg.Zone), err)
		}
		for _, vm := range list.Items {
			if inst := p.instance(vm); strings.HasPrefix(inst.Label, labelPrefix) {
				out = append(out, *inst)
			}
		}
		if token = list.NextPageToken; token == "" {
			return out, nil
		}
	}
}

// Destroy deletes the VM with its disk and returns once the delete operation
// is DONE. Both reasons do the same: a Compute Engine VM is never left with
// its disk behind (that would keep billing). A VM already gone — 404 on the
// delete, or gone while scn watches — is not an error.
func (p *Provider) Destroy(ctx context.Context, id string, reason cloud.DestroyReason) error {
	_, err := p.destroy(ctx, id)
	return err
}

// destroy is Destroy, saying whether there was a VM to delete: a 404 on
// the delete says none exists now, which is not the same as none ever
// will (see abandon).
func (p *Provider) destroy(ctx context.Context, id string) (found bool, err error) {
	reqID := newRequestID()
	op, err := call(ctx, p, func() (*compute.Operation, error) {
		return p.svc.Instances.Delete(p.cfg.Project, p.cfg.Zone, id).RequestId(reqID).Context(ctx).Do()
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("delete VM "+id, err)
	}
	err = p.waitOp(ctx, op)
	if isNotFound(err) {
		return true, p.waitGone(ctx, id)
	}
	if err != nil {
		return true, wrap("wait for the deletion of VM "+id, err)
	}
	return true, nil
}

// waitGone polls the VM until Compute Engine no longer knows it.
func (p *Provider) waitGone(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, goneTimeout)
	defer cancel()
	for {
		_, err := p.Get(ctx, id)
		switch {
		case err == nil:
		case errors.Is(err, cloud.ErrNotFound):
			return nil
		default:
			return fmt.Errorf("gcp: VM %s: delete requested, not confirmed: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gcp: VM %s: delete requested, still there after %s: %w", id, goneTimeout, ctx.Err())
		case <-time.After(p.cfg.PollInterval):
		}
	}
}

// instance converts a VM resource to scn's vocabulary.
func (p *Provider) instance(vm *compute.Instance) *cloud.Instance {
	machine := path.Base(vm.MachineType)
	spot := vm.Scheduling != nil && vm.Scheduling.ProvisioningModel == "SPOT"
	pq := p.price(machine, spot)
	inst := &cloud.Instance{
		PriceSource:  pq.source,
		Estimated:    pq.estimated,
		ID:           vm.Name,
		Provider:     p.Name(),
		Label:        vm.Labels[labelLabel],
		User:         p.cfg.User,
		Workspace:    p.cfg.Workspace,
		GPU:          machine,
		PricePerHour: pq.perHour,
		StatusMsg:    vm.StatusMessage,
		// A VM is billed at least a minute.
		MinBilledSeconds: minBilledSeconds,
	}
	inst.CreatedAt, _ = time.Parse(time.RFC3339, vm.CreationTimestamp)
	if vm.Metadata != nil {
		for _, it := range vm.Metadata.Items {
			switch {
			case it.Value == nil:
			case it.Key == metadataLabel:
				inst.Label = *it.Value
			case it.Key == "ssh-keys":
				if user, _, ok := strings.Cut(*it.Value, ":"); ok && userPattern.MatchString(user) {
					inst.User = user
				}
			}
		}
	}
	switch vm.Status {
	case "PENDING", "PROVISIONING", "STAGING":
		inst.Status = cloud.StatusLoading
	case "RUNNING":
		inst.Status = cloud.StatusRunning
		inst.Host, inst.Port = natIP(vm), 22
		if p.cfg.SSHPortOverride != nil {
			if port := p.cfg.SSHPortOverride(vm.Name); port > 0 {
				inst.Port = port
			}
		}
		if inst.Host == "" {
			inst.StatusMsg = "running without an external IP yet"
		}
	case "PENDING_STOP", "STOPPING", "STOPPED", "SUSPENDING", "SUSPENDED", "TERMINATED", "DEPROVISIONING":
		inst.Status = cloud.StatusExited
		inst.StatusMsg = strings.TrimSpace("Compute Engine status " + vm.Status + ". " + vm.StatusMessage)
	case "REPAIRING":
		inst.Status = cloud.StatusOffline
		inst.StatusMsg = strings.TrimSpace("Compute Engine is repairing the VM. " + vm.StatusMessage)
	default:
		inst.Status = cloud.StatusUnknown
		inst.StatusMsg = strings.TrimSpace("Compute Engine status " + vm.Status + ". " + vm.StatusMessage)
	}
	return inst
}

// natIP is the VM's external address: the first interface's first access config.
func natIP(vm *compute.Instance) string {
	if len(vm.NetworkInterfaces) == 0 || len(vm.NetworkInterfaces[0].AccessConfigs) == 0 {
		return ""
	}
	return vm.NetworkInterfaces[0].AccessConfigs[0].NatIP
}
