package resource

import (
	"github.com/scnlabs/scn/internal/ledger"
)

// OnLedger adapts the on-disk ledger to the tracker's Ledger interface.
func OnLedger(l *ledger.Ledger) Ledger { return ledgerAdapter{l} }

type ledgerAdapter struct{ l *ledger.Ledger }

func (a ledgerAdapter) Intent(run, step, kind, provider, target, label string) (string, error) {
	return a.l.Intent(ledger.Entry{Run: run, Step: step, Kind: kind, Provider: provider, Target: target, Label: label})
}

func (a ledgerAdapter) Created(ref, id string, extra map[string]string) error {
	return a.l.Created(ref, id, extra)
}

func (a ledgerAdapter) Destroyed(ref string) error { return a.l.Destroyed(ref, "") }

func (a ledgerAdapter) Failed(ref, msg string) error { return a.l.Failed(ref, msg) }

// CloseID closes every open record of the resource id on provider (any
// provider when empty).
func (a ledgerAdapter) CloseID(provider, id, note string) error {
	open, err := a.l.Leftovers(ledger.Filter{})
	if err != nil {
		return err
	}
	for _, r := range open {
		if r.ID == id && (provider == "" || r.Provider == provider) {
			if err := a.l.Destroyed(r.Ref, note); err != nil {
				return err
			}
		}
	}
	return nil
}
