package standby

import "sync"

// Registry holds a run's associations so later steps can find them by
// the standby's id or by the id of the GPU one follows. Safe for
// concurrent use; the zero value is ready.
type Registry struct {
	// Adjust is a test hook: when set, standby.create passes the Options
	// of every association it starts through it just before Start, so a
	// test can drive the loops (SyncTicks, CheckTicks) and learn when a
	// round has ended by wrapping OnSync or OnCheck, instead of waiting
	// for real intervals. Set it before the step that starts them.
	Adjust func(*Options)

	mu   sync.Mutex
	list []*Association
}

// Add registers a.
func (r *Registry) Add(a *Association) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, a)
}

// Find returns the association whose standby is id or, failing that, the
// newest one following GPU id; nil when none.
func (r *Registry) Find(id string) *Association {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.list {
		if a.StandbyID() == id {
			return a
		}
	}
	for i := len(r.list) - 1; i >= 0; i-- {
		if r.list[i].GPU().Instance.ID == id {
			return r.list[i]
		}
	}
	return nil
}
