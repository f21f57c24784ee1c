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
