package actions

import "github.com/scnlabs/scn/internal/journal"

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
