package resource

import (
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// Bill corrects the record with the provider's own view of the bill once it
// is known: when the provider created the resource (its clock, not the
// moment scn heard of it) and the price it charges for this very resource
// (VAST's dph_total of the instance, storage included, not the offer's).
// Zero values leave the record as it is.
func (h *Handle) Bill(createdAt time.Time, pricePerHour float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !createdAt.IsZero() {
		h.res.CreatedAt = createdAt.UTC()
	}
	if pricePerHour > 0 {
		h.res.PricePerHour = pricePerHour
	}
}

// MinBilled records the provider's minimum charge for the resource
// (cloud.Instance.MinBilledSeconds: Compute Engine bills a VM at least a
// minute): its cost is its price over the longer of its lifetime and
// this. 0 leaves the record as it is.
func (h *Handle) MinBilled(seconds float64) {
	if seconds <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.res.MinBilledSeconds = seconds
}

// Running records how a provider that bills the machine only while it
// runs bills this one (cloud.Instance: VAST bills its disk all along, the
// rest of dph_total from when it runs): storagePerHour is the part of
// the price billed for the whole lifetime, runningAt when it was first
// read running (zero: it never ran). storagePerHour 0 leaves the record
// as it is: the whole price from creation.
func (h *Handle) Running(runningAt time.Time, storagePerHour float64) {
	if storagePerHour <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.res.StoragePerHour = storagePerHour
	if !runningAt.IsZero() {
		h.res.RunningAt = runningAt.UTC()
	}
}

// PausedFrom gives the handle where to read when the provider paused
// billing parts of the machine before its destroy (cloud.BillPauser: VAST
// bills a stopped instance its disk only, an offline one nothing): the
// machine's running part from machine, its storage part too from storage
// (zero: not paused). It is read whenever the bill is computed, so a pause
// seen by any later status read — a standby's check, instance.status —
// counts.
func (h *Handle) PausedFrom(paused func() (machine, storage time.Time)) {
	h.mu.Lock()
	h.paused = paused
	h.mu.Unlock()
}

// Traffic records what the provider bills per GB the machine sends and
// receives (cloud.Offer.SentPerGB, ReceivedPerGB: VAST's bandwidth prices
// of the offer it was rented from, or scn's estimate of Google's egress),
// and, for an estimate, where it comes from (cloud.Offer.TrafficSource; ""
// for the provider's own prices). 0 and 0 leave traffic unbilled.
func (h *Handle) Traffic(sentPerGB, receivedPerGB float64, source string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.traffic.SentPerGB, h.traffic.ReceivedPerGB = sentPerGB, receivedPerGB
	h.traffic.PriceSource, h.traffic.Estimated = source, source != ""
}

// Moved counts bytes a transfer of the run sent from the machine and
// brought to it: on a provider that bills traffic (Traffic), they are part
// of its cost.
func (h *Handle) Moved(sent, received int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.traffic.SentBytes += max(sent, 0)
	h.traffic.ReceivedBytes += max(received, 0)
}

// bandwidth is the record's traffic bill, nil when the provider does not
// bill traffic or nothing moved. h.mu held.
func (h *Handle) bandwidth() *journal.Bandwidth {
	b := h.traffic
	if (b.SentPerGB <= 0 && b.ReceivedPerGB <= 0) || (b.SentBytes == 0 && b.ReceivedBytes == 0) {
		return nil
	}
	b.USD = (float64(b.SentBytes)*b.SentPerGB + float64(b.ReceivedBytes)*b.ReceivedPerGB) / 1e9
	return &b
}

// PriceFrom records where the price comes from when it is not the
// provider's own figure (cloud.Instance.PriceSource), and whether it is
// scn's estimate.
func (h *Handle) PriceFrom(source string, estimated bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.res.PriceSource, h.res.Estimated = source, estimated
}

// BillingEnded records when the provider accepted the resource's destroy
// (cloud.DestroyBilled): its lifetime ends there, not when scn saw the
// destroy confirmed. The DestroyFunc calls it before returning.
func (h *Handle) BillingEnded(at time.Time) {
	if at.IsZero() {
		return
	}
	h.mu.Lock()
	h.billEnd = at.UTC()
	h.mu.Unlock()
}

// rate is what r is billed per hour now, as cost bills it: a provider
// with a storage part bills nothing while the machine is offline and only
// the storage before it first ran or while it is stopped; otherwise the
// whole price.
func rate(r journal.Resource) float64 {
	switch {
	case r.StoragePerHour <= 0:
		return r.PricePerHour
	case !r.OfflineAt.IsZero():
		return 0
	case r.RunningAt.IsZero() || !r.StoppedAt.IsZero():
		return r.StoragePerHour
	}
	return r.PricePerHour
}

// cost is the bill of r, its lifetime ending at end: a provider with a
// minimum charge bills at least that (for a resource still alive too: it
// is already owed); one with a storage part bills it until the machine
// went offline or ended, and the rest of the price only from when it ran
// (none if it never did) until it stopped or ended, never longer than it
// lived.
func cost(r journal.Resource, end time.Time) float64 {
	if r.StoragePerHour <= 0 {
		return r.PricePerHour * max(r.LifetimeSeconds, r.MinBilledSeconds) / 3600
	}
	stored := r.LifetimeSeconds
	if !r.OfflineAt.IsZero() {
		stored = min(stored, max(r.OfflineAt.Sub(r.CreatedAt).Seconds(), 0))
	}
	ran := 0.0
	if !r.RunningAt.IsZero() {
		if !r.StoppedAt.IsZero() && r.StoppedAt.Before(end) {
			end = r.StoppedAt
		}
		ran = min(max(end.Sub(r.RunningAt).Seconds(), 0), r.LifetimeSeconds)
	}
	return (r.StoragePerHour*max(stored, r.MinBilledSeconds) + (r.PricePerHour-r.StoragePerHour)*ran) / 3600
}
