// Package standby holds the standby.* actions: rent a CPU standby machine
// and keep it in sync with a GPU instance (standby.create), look at the
// association — sync figures, failure detection, files at risk —
// (standby.status) and force a sync (standby.sync). The association itself
// (internal/standby) runs in the background for the rest of the run; the
// run's associations are kept in Env.Shared (standby.RunRegistry), where
// failover.restore finds them too.
package standby

import "github.com/scnlabs/scn/actions"

// logTo passes the association's events to the console under step, after
// the step itself has ended; standby.status shows them in its journal.
func logTo(env *actions.Env, id string) func(string) {
	step := env.Step
	return func(line string) {
		if env.Events != nil {
			env.Events.Log(step, "standby "+id+": "+line)
		}
	}
}
