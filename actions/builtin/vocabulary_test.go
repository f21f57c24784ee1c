package builtin

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions"
)

// One vocabulary (docs/decisions.md): an output name has one type in
// every action, so `missing` is always a list of paths and `files` always
// the list of files, whatever step a drill reads it from; and no output
// takes a name every step has (status, seconds... see stepOwn).
func TestOneTypePerOutputName(t *testing.T) {
	types := map[string]map[string][]string{} // name → type → actions
	for _, s := range Registry().All() {
		for _, f := range actions.FieldsOf(s.Outputs) {
			tn := f.Type.String()
			if types[f.Name] == nil {
				types[f.Name] = map[string][]string{}
			}
			types[f.Name][tn] = append(types[f.Name][tn], s.Name)
			if slices.Contains(stepOwn, f.Name) {
				t.Errorf("%s: output %q would be hidden by the step's own %s", s.Name, f.Name, f.Name)
			}
		}
	}
	for name, byType := range types {
		if len(byType) > 1 {
			var all []string
			for tn, acts := range byType {
				all = append(all, fmt.Sprintf("%s in %s", tn, strings.Join(acts, ", ")))
			}
			slices.Sort(all)
			t.Errorf("output %q has %d types: %s", name, len(byType), strings.Join(all, "; "))
		}
	}
}

// stepOwn are the fields every step has besides its action's outputs
// (runner.stepFields), except seconds, which several actions report with
// their own meaning (see docs/decisions.md).
var stepOwn = []string{"status", "error", "tries"}

// Outputs of actions that only read an instance list nothing they never
// fill: instance.status is the provider's view, not how renting went.
func TestStatusListsOnlyWhatItFills(t *testing.T) {
	st, _ := Registry().Get("instance.status")
	cr, _ := Registry().Get("instance.create")
	for _, name := range []string{"ready_seconds", "attempts"} {
		if _, ok := actions.Lookup(actions.FieldsOf(st.Outputs), name); ok {
			t.Errorf("instance.status lists %s, which only instance.create fills", name)
		}
		if _, ok := actions.Lookup(actions.FieldsOf(cr.Outputs), name); !ok {
			t.Errorf("instance.create lost its output %s", name)
		}
	}
}
