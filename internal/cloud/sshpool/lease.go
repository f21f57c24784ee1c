package sshpool

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/scnlabs/scn/internal/atomicfile"
	"github.com/scnlabs/scn/internal/cloud"
)

// lease is the content of <StateDir>/sshpool/<host>.lease: who holds the
// host, so a refused run can say whom to ask (or what to clean up).
type lease struct {
	Host    string    `json:"host"`
	Label   string    `json:"label"`   // the instance label, scn-<run>-<step>
	PID     int       `json:"pid"`     // the scn process that took it
	Machine string    `json:"machine"` // where that process runs (its hostname)
	Since   time.Time `json:"since"`
	// Token is drawn at random for each lease and kept by the Provider that
	// took it, which gives back only a lease still carrying it: a host given
	// back may be leased again at once, and neither label nor pid tells the
	// new lease from the old for sure (one process may lease a host twice).
	Token string `json:"token,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// CheckName reports whether name can name a host of the pool: it becomes a
// file name and an instance id typed on the command line, so letters,
// digits, '.', '_' and '-', not starting with a dot or a dash.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("host name %q must be letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

func (p *Provider) leasePath(name string) string { return filepath.Join(p.dir, name+".lease") }

// take leases host name for label. The lease is created whole and only if
// no lease exists (atomicfile.Create: a hard link, which fails if the name
// exists), so exactly one taker wins, and nobody ever reads a half-written
// lease.
func (p *Provider) take(name, label string) (lease, error) {
	if err := CheckName(name); err != nil {
		return lease{}, fmt.Errorf("ssh pool: %w", err)
	}
	machine, _ := os.Hostname()
	l := lease{Host: name, Label: label, PID: os.Getpid(), Machine: machine, Since: time.Now().UTC(), Token: rand.Text()}
	data, err := json.Marshal(l)
	if err != nil {
		return lease{}, err
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return lease{}, fmt.Errorf("ssh pool: creating lease directory: %w", err)
	}
	// The holder may release between our failed create and our read of
	// its lease: then the host is free and another attempt can win it.
	for range 3 {
		err = atomicfile.Create(p.leasePath(name), data, 0o600)
		if err == nil {
			p.mu.Lock()
			p.mine[name] = l.Token
			p.mu.Unlock()
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return lease{}, fmt.Errorf("ssh pool: leasing host %s: %w", name, err)
		}
		holder, rerr := p.readLease(name)
		switch {
		case isNotFound(rerr):
			continue
		case rerr != nil:
			return lease{}, &cloud.OfferGoneError{Offer: name, Detail: rerr.Error()}
		}
		return lease{}, &cloud.OfferGoneError{Offer: name, Detail: holder.busy()}
	}
	return lease{}, &cloud.OfferGoneError{Offer: name, Detail: "its lease keeps changing hands: another scn is taking and releasing it"}
}

// runIDRE finds the run id in a label scn-<run-id>-<step> (run ids are
// 20261126-182301-3fa9).
var runIDRE = regexp.MustCompile(`^scn-(\d{8}-\d{6}-[0-9a-f]{4})-`)

// busy says who holds the lease and how to free the host.
func (l lease) busy() string {
	msg := fmt.Sprintf("host %s is leased by %s (pid %d on %s, since %s)", l.Host, l.Label, l.PID, l.Machine, l.Since.Format(time.RFC3339))
	if machine, _ := os.Hostname(); machine == l.Machine && processGone(l.PID) {
		msg += "; that process has exited, so the run crashed or was interrupted"
	}
	cleanup := "scn cleanup"
	if m := runIDRE.FindStringSubmatch(l.Label); m != nil {
		cleanup += " --run " + m[1]
	}
	return msg + fmt.Sprintf(`; once that run is over, free the host with "%s" or "scn do instance.destroy --with id=%s" (same --target)`, cleanup, l.Host)
}

// readLease returns the lease on host name; cloud.ErrNotFound when the host
// is free.
func (p *Provider) readLease(name string) (lease, error) {
	if err := CheckName(name); err != nil {
		return lease{}, fmt.Errorf("ssh pool: %w: %w", err, cloud.ErrNotFound)
	}
	data, err := os.ReadFile(p.leasePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return lease{}, fmt.Errorf("ssh pool host %s is not leased: %w", name, cloud.ErrNotFound)
	}
	if err != nil {
		return lease{}, fmt.Errorf("ssh pool: reading lease of host %s: %w", name, err)
	}
	var l lease
	if err := json.Unmarshal(data, &l); err != nil {
		return lease{}, fmt.Errorf("ssh pool: lease file %s is damaged (%v); free the host with \"scn do instance.destroy --with id=%s\"", p.leasePath(name), err, name)
	}
	return l, nil
}

// leased reports whether host name is leased, without reading the lease.
func (p *Provider) leased(name string) (bool, error) {
	_, err := os.Lstat(p.leasePath(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("ssh pool: checking lease of host %s: %w", name, err)
}

// release removes the lease on host name if ours says it is the caller's
// (nil: whoever holds it, for a user freeing a host by name), and reports
// whether it removed one. A damaged lease cannot be checked: a release that
// must check it fails (saying how to free the host), and only a release by
// name removes it.
//
// Releases hold the pool's release lock from reading the lease to removing
// it. take only ever creates a lease where there is none, so while the lock
// is held the lease read cannot be swapped for another under our feet: the
// file removed is the lease that was checked.
func (p *Provider) release(name string, ours func(lease) bool) (bool, error) {
	if err := CheckName(name); err != nil {
		return false, fmt.Errorf("ssh pool: %w", err)
	}
	unlock, err := lockReleases(p.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // no lease directory: nothing was ever leased
	}
	if err != nil {
		return false, fmt.Errorf("ssh pool: releasing host %s: %w", name, err)
	}
	defer unlock()
	if ours != nil {
		l, err := p.readLease(name)
		if isNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !ours(l) {
			return false, nil
		}
	}
	err = os.Remove(p.leasePath(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("ssh pool: releasing host %s: %w", name, err)
}

// DestroyLabelled is Destroy for `scn cleanup`, which knows a host by a
// run's record: it releases the lease only while it still carries label
// (and, if this Provider took it, its token); otherwise the host is another
// run's by now, or free, and the answer is cloud.ErrNotFound.
func (p *Provider) DestroyLabelled(ctx context.Context, id, label string, reason cloud.DestroyReason) error {
	p.mu.Lock()
	token, took := p.mine[id]
	p.mu.Unlock()
	released, err := p.release(id, func(l lease) bool { return l.Label == label && (!took || l.Token == token) })
	if err = p.destroyed(id, reason, err); err == nil && !released {
		err = fmt.Errorf("ssh pool host %s holds no lease labelled %s: %w", id, label, cloud.ErrNotFound)
	}
	return err
}

// destroyed records a destroy with reason failure once its release is done.
func (p *Provider) destroyed(id string, reason cloud.DestroyReason, err error) error {
	if err != nil {
		return err
	}
	if reason == cloud.ReasonFailure {
		p.mu.Lock()
		p.lost[id] = true
		p.mu.Unlock()
	}
	return nil
}

// releaseLockName is the file in the lease directory whose lock serialises
// releases; it is not a lease (no .lease suffix) and is never removed.
const releaseLockName = "release.lock"

func isNotFound(err error) bool { return errors.Is(err, cloud.ErrNotFound) }
