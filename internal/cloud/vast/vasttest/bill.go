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
// (vast.ai/docs/billing/billing, docs.vast.ai/billing-help: "You are
// charged the base active rental cost for every second your instance is in
// the active/connected state. You are charged the storage cost … for every
// single second your instance exists, regardless of its state."): its disk
// (storage_cost × disk_space / 720 per hour) from its creation (start_date)
// to the DELETE that destroyed it, or to now while it lives, plus the rest
// of its dph_total (the machine, dph_base) from when it first ran to then —
// nothing for an instance that never ran. seconds is its whole lifetime.
// VAST bills per second (vast.ai/pricing: "Per-second billing").
func (f *Fake) Bill(id string) (usd, seconds float64) {
	in, ok := f.Instance(id)
	if !ok || in.seeded {
		return 0, 0
	}
	end := in.DeletedAt
	if end.IsZero() {
		end = time.Now()
	}
	seconds = max(float64(end.UnixNano())/1e9-in.started, 0)
	storage := in.offer.StorageCost * in.Disk / hoursPerMonth
	usd = storage * seconds / 3600
	if !in.RunningAt.IsZero() {
		usd += (in.dphTotal() - storage) * max(end.Sub(in.RunningAt).Seconds(), 0) / 3600
	}
	return usd, seconds
}

// CreatedAt is when the fake created the instance: its start_date.
func (in *Instance) CreatedAt() time.Time {
	sec := int64(in.started)
	return time.Unix(sec, int64((in.started-float64(sec))*1e9))
}
