package builtin_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/runner"
)

// stepRef is a reference to an earlier step in an example.
var stepRef = regexp.MustCompile(`steps\.([A-Za-z_][A-Za-z0-9_-]*)`)

// Every action's example (shown by `scn actions NAME` and in
// docs/actions.md) is a step the checker accepts: its parameters exist
// and fit, and its expect names the action's real outputs. The earlier
// steps it refers to are stand-ins of an unknown action (whose outputs
// may be anything): only the example's own lines must check clean.
func TestExamplesPassTheChecker(t *testing.T) {
	reg := builtin.Registry()
	n := 0
	for _, spec := range reg.All() {
		if spec.Example == "" {
			continue
		}
		n++
		src := "name: example\nsteps:\n"
		stubs := map[string]bool{}
		for _, m := range stepRef.FindAllStringSubmatch(spec.Example, -1) {
			if !stubs[m[1]] {
				stubs[m[1]] = true
				src += "  - { id: " + m[1] + ", action: stand.in }\n"
			}
		}
		first := strings.Count(src, "\n") + 1 // the example's first line
		src += indent(spec.Example, "  ")
		sc, err := runner.Load(spec.Name+".yaml", []byte(src))
		if sc == nil {
			t.Errorf("%s: its example does not load: %v\n%s", spec.Name, err, src)
			continue
		}
		_, cerr := runner.Check(sc, reg)
		var ds runner.Diagnostics
		if !errors.As(runner.Merge(err, cerr), &ds) && runner.Merge(err, cerr) != nil {
			t.Fatalf("%s: %v", spec.Name, runner.Merge(err, cerr))
		}
		for _, d := range ds {
			if d.Pos.Line >= first {
				t.Errorf("%s: the checker refuses its example: %v\n%s", spec.Name, d, src)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d actions have an example: the registry is not what this test expects", n)
	}
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}
