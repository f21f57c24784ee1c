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

// Bill is what the account is charged for instance id: its dph_total
// (what VAST bills per hour for it, storage included) times the seconds
// from its creation (start_date) to the DELETE that destroyed it, or to now
// while it lives. VAST bills per second (vast.ai/pricing: "Per-second
// billing"; docs.vast.ai serverless pricing: "pay-per-second pricing … at
// the same price as Vast.ai's non-Serverless GPU instances").
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
	return in.dphTotal() * seconds / 3600, seconds
}

// CreatedAt is when the fake created the instance: its start_date.
func (in *Instance) CreatedAt() time.Time {
	sec := int64(in.started)
	return time.Unix(sec, int64((in.started-float64(sec))*1e9))
}
