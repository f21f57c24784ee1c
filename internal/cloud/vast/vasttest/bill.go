package vasttest

import "time"

// hoursPerMonth is the month VAST's storage_cost is quoted per: 30 days.
const hoursPerMonth = 30 * 24

// DefaultAllocatedStorage is the disk a search prices offers with when it
// does not say (allocated_storage): the official CLI's default for
// `search offers --storage` (vast.py: default=5.0 GiB).
const DefaultAllocatedStorage = 5.0

// dphTotal is what VAST bills per hour for the offer with disk GB of
// storage: the machine plus the disk.
func (o *Offer) dphTotal(disk float64) float64 {
	return o.DPHTotal + o.StorageCost*disk/hoursPerMonth
}

// dphTotal is what VAST bills per hour for the instance: its machine and
// the disk it rented.
func (in *Instance) dphTotal() float64 { return in.offer.dphTotal(in.Disk) }

// Bill is what the account is charged for instance id, the way VAST bills
// (vast-ai/docs guides/reference/billing.mdx: "You are charged the base
// active rental cost for every second your instance is in the
// active/connected state. You are charged the storage cost … for every
// single second your instance exists and is online (for all states other
// than offline)." — "You are not charged active rental or storage costs
// for instances that are currently offline."): its disk (storage_cost ×
// disk_space / 720 per hour) from its creation (start_date) to the DELETE
// that destroyed it, or to now while it lives, except while it was
// offline, plus the rest of its dph_total (the machine, dph_base) for the
// time it ran until then — nothing for an instance that never ran, nothing
// while it was stopped or offline (observe). seconds is its whole
// lifetime. VAST bills per second (vast.ai/pricing: "Per-second billing").
// Bandwidth, billed per byte, is not counted: the fake does not see it.
func (f *Fake) Bill(id string) (usd, seconds float64) {
	in, ok := f.Instance(id)
	if !ok || in.seeded {
		return 0, 0
	}
	end := in.DeletedAt
	if end.IsZero() {
		end = f.now()
	}
	seconds = max(float64(end.UnixNano())/1e9-in.started, 0)
	storage := in.offer.StorageCost * in.Disk / hoursPerMonth
	ran, off := in.ran, in.offline
	if !in.runSince.IsZero() {
		ran += max(end.Sub(in.runSince), 0)
	}
	if !in.offSince.IsZero() {
		off += max(end.Sub(in.offSince), 0)
	}
	usd = storage*(seconds-off.Seconds())/3600 + (in.dphTotal()-storage)*ran.Seconds()/3600
	return usd, seconds
}

// observe moves the instance's bill along with the lifecycle step st it
// entered at now. VAST bills the GPU while the instance is running or
// frozen, only the disk while it is stopped (docs.vast.ai, show-instance:
// "running — GPU charges apply", "stopped — Disk charges continue; no GPU
// charges", "frozen — GPU charges apply"; the official CLI's SKILL.md: an
// interruptible instance outbid "moves to stopped … and storage charges
// continue"), and nothing while it is offline (billing.mdx, above); again
// when it comes back. exited and unknown leave the bill as it was: the
// docs do not say, and scn bills them too (docs/decisions.md, "Money").
func (in *Instance) observe(st Step, now time.Time) {
	if st.Status != "offline" && !in.offSince.IsZero() {
		in.offline += now.Sub(in.offSince)
		in.offSince = time.Time{}
	}
	switch st.Status {
	case "running", "frozen":
		if in.RunningAt.IsZero() && st.Status == "running" {
			in.RunningAt = now
		}
		if in.runSince.IsZero() && !in.RunningAt.IsZero() {
			in.runSince, in.StoppedAt = now, time.Time{}
		}
	case "stopped", "offline":
		if !in.runSince.IsZero() {
			in.ran += now.Sub(in.runSince)
			in.runSince, in.StoppedAt = time.Time{}, now
		}
		if st.Status == "offline" && in.offSince.IsZero() {
			in.offSince = now
		}
	}
}

// CreatedAt is when the fake created the instance: its start_date.
func (in *Instance) CreatedAt() time.Time {
	sec := int64(in.started)
	return time.Unix(sec, int64((in.started-float64(sec))*1e9))
}
