// Package cleanup destroys what runs left behind, from the resource ledger:
// every instance, standby VM, snapshot and standby relay recorded as
// created and never destroyed, through the target named in its record, and
// every intent that never got an id, looked up by its label on the
// provider (the provider may have made it even though scn died before
// hearing back). Runs still in progress — holding their ledger.LockRun
// lock — are set aside: they clean up after themselves.
//
// It is a library, not part of the CLI, so that the rules — what is a
// leftover, which ids the ledger accounts for, how each record is closed —
// are tested on their own and `scn cleanup` is only flags and printing. It
// prints nothing: each resource's outcome is a Result handed to the caller.
package cleanup

import (
	"github.com/scnlabs/scn/internal/ledger"
)

// Leftovers is what the ledger shows still open.
type Leftovers struct {
	Todo    []ledger.Record // open, matching the filter, of runs not in progress
	Live    []ledger.Record // open, but their run is still going
	LivePID map[string]int  // run id → pid of runs in progress
	All     []ledger.Record // every record, to know which ids are accounted for
	Skipped int             // unreadable ledger lines
}

// Find reads the open records matching filter and sets aside those of runs
// still in progress (stateDir holds their locks).
func Find(led *ledger.Ledger, stateDir string, filter ledger.Filter) (*Leftovers, error) {
	open, err := led.Leftovers(filter)
	if err != nil {
		return nil, err
	}
	left := &Leftovers{LivePID: map[string]int{}}
	checked := map[string]bool{}
	for _, r := range open {
		if !checked[r.Run] {
			checked[r.Run] = true
			if pid, live := ledger.RunLive(stateDir, r.Run); live {
				left.LivePID[r.Run] = pid
			}
		}
	}
	// Read again now that the live runs are known: a run that ended in
	// between has closed its records, and they must not be destroyed twice.
	if open, err = led.Leftovers(filter); err != nil {
		return nil, err
	}
	for _, r := range open {
		if _, live := left.LivePID[r.Run]; live {
			left.Live = append(left.Live, r)
		} else if checked[r.Run] {
			left.Todo = append(left.Todo, r)
		} // else: a run that started after the first read, so live
	}
	if left.All, left.Skipped, err = led.Records(); err != nil {
		return nil, err
	}
	return left, nil
}
