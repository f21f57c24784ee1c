package actions

import (
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/resource"
)

// Optional interfaces an action's outputs struct can implement so the
// runner can fill the journal's drill figures without knowing the action.

// ValidationReport is implemented by outputs that judge data integrity
// (files.verify, snapshot.restore, failover.restore). ok is false when
// the step validated nothing (verify: false): its verdict must not stand
// for the run's.
type ValidationReport interface {
	Validation() (v journal.Validation, ok bool)
}

// TransferReport is implemented by outputs of a data transfer (snapshot
// create/restore, standby sync, failover copy).
type TransferReport interface {
	Transfer() journal.Transfer
}

// TrafficReport is implemented by outputs of a transfer that moved bytes
// over instances' own network links, which a provider may bill by the byte
// (VAST: inet_up_cost, inet_down_cost): the runner counts them on each
// instance's bill (resource.Handle.Moved) after every run of the action —
// each try of a retry, each poll of an until — as each moved them again.
type TrafficReport interface {
	Traffic() []Traffic
}

// Traffic is what one instance sent and received in a transfer.
type Traffic struct {
	Instance       string
	Sent, Received int64
}

// CountTraffic counts each instance's share of a transfer on its bill
// (resource.Handle.Moved): the runner does it with each run's TrafficReport,
// a standby with each background sync as it ends. An instance the run did
// not rent is not billed to it.
func CountTraffic(resources *resource.Tracker, ts ...Traffic) {
	if resources == nil {
		return
	}
	for _, t := range ts {
		if h := resources.Find("instance", t.Instance); h != nil {
			h.Moved(t.Sent, t.Received)
		}
	}
}

// StandbyReport is implemented by outputs that summarise a standby
// association (standby.status, failover.restore).
type StandbyReport interface {
	Standby() journal.Standby
}

// Where a step's data landed, for negative controls (scn run
// --negative-control), which damage it right after the step to prove that a
// later check sees the damage.

// RestoredData is implemented by outputs of a step that put the workspace
// on a machine (snapshot.restore, failover.restore): which machine, which
// directory. ok is false when nothing landed.
type RestoredData interface {
	Restored() (on InstanceRef, dir string, ok bool)
}

// StoredData is implemented by outputs of a step that stored data in the
// target's store (snapshot.create): the data object's key.
type StoredData interface {
	StoredObject() (key string, ok bool)
}

// StandbyCopy is implemented by outputs that describe a standby's copy of
// the workspace (standby.status): the standby machine, its copy's
// directory, and whether failover is active (the GPU is gone and the copy
// is what will be handed over).
type StandbyCopy interface {
	StandbyCopy() (on InstanceRef, dir string, failoverActive bool)
}

// VerificationError marks an action's failure as a check that did not hold
// (a file's hash, a snapshot's integrity) rather than something broken (a
// connection, a provider): the journal says so, and a negative control counts
// it as detection. Its message is the wrapped error's.
type VerificationError struct{ Err error }

func (e *VerificationError) Error() string { return e.Err.Error() }
func (e *VerificationError) Unwrap() error { return e.Err }

// Verification marks err (nil stays nil) as a failed check.
func Verification(err error) error {
	if err == nil {
		return nil
	}
	return &VerificationError{Err: err}
}
