package journal

import "time"

// Resource is anything the run created: an instance, a standby VM, a snapshot.
type Resource struct {
	ID              string     `json:"id"`
	Kind            string     `json:"kind"`     // instance | standby | snapshot | relay
	Provider        string     `json:"provider"` // local, vast, gcp, ssh, store
	Label           string     `json:"label,omitempty"`
	Step            string     `json:"step"`
	Detail          string     `json:"detail,omitempty"` // e.g. GPU model, snapshot key
	CreatedAt       time.Time  `json:"created_at"`
	DestroyedAt     *time.Time `json:"destroyed_at,omitempty"`
	LifetimeSeconds float64    `json:"lifetime_seconds"`
	PricePerHour    float64    `json:"price_per_hour"`
	CostUSD         float64    `json:"cost_usd"`
	// MinBilledSeconds is the provider's minimum charge in seconds
	// (Compute Engine bills a VM at least a minute): cost_usd is the
	// price over max(lifetime_seconds, min_billed_seconds). 0: none.
	MinBilledSeconds float64 `json:"min_billed_seconds,omitempty"`
	// StoragePerHour is the part of price_per_hour billed for the whole
	// lifetime when the provider bills the rest only while the machine
	// runs (VAST: its disk); RunningAt is when scn first read it running
	// (zero: it never ran). Omitted where the whole price is billed from
	// creation, as before they existed.
	StoragePerHour float64   `json:"storage_per_hour,omitempty"`
	RunningAt      time.Time `json:"running_at,omitzero"`
	// StoppedAt is when scn first read the machine stopped or offline
	// (before its destroy, since it last ran): its running part is billed
	// up to there only. OfflineAt is when it first read it offline: its
	// storage part too. Zero: not seen so.
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	OfflineAt time.Time `json:"offline_at,omitzero"`
	// Bandwidth is the traffic the provider bills by the byte (VAST),
	// counted from the run's own transfers; cost_usd includes its usd.
	// Omitted where traffic is not billed, or nothing was counted.
	Bandwidth *Bandwidth `json:"bandwidth,omitempty"`
	Simulated bool       `json:"simulated,omitempty"`
	// PriceSource says where price_per_hour comes from when it is not the
	// provider's own figure for this resource; Estimated marks scn's
	// built-in estimates (never a bill).
	PriceSource   string `json:"price_source,omitempty"`
	Estimated     bool   `json:"estimated,omitempty"`
	State         string `json:"state"`                    // alive | destroyed | kept | leaked
	DestroyReason string `json:"destroy_reason,omitempty"` // user, failure, ReasonGaveUp...
}

// ReasonGaveUp is the destroy reason of an instance provisioning rented and
// gave up (not ready in time, exited, or a race's loser): billed, but never
// the step's machine.
const ReasonGaveUp = "gave up: not ready"

// Bandwidth is a machine's traffic billed by the byte: what the run's own
// transfers sent from it and brought to it (snapshots up, restores and
// failovers down, standby syncs up), at the prices of the offer it was
// rented from. The workload's own traffic, the image pull and protocol
// overhead are not counted: it is the part of the bandwidth bill scn
// caused and measured, not all of it.
type Bandwidth struct {
	SentBytes     int64   `json:"sent_bytes"`
	ReceivedBytes int64   `json:"received_bytes"`
	SentPerGB     float64 `json:"sent_per_gb"`     // USD per 10⁹ bytes sent
	ReceivedPerGB float64 `json:"received_per_gb"` // USD per 10⁹ bytes received
	USD           float64 `json:"usd"`
	// PriceSource names the estimate the per-GB prices come from when they
	// are not the provider's own (cloud.Offer.TrafficSource); Estimated
	// is then true.
	PriceSource string `json:"price_source,omitempty"`
	Estimated   bool   `json:"estimated,omitempty"`
}
