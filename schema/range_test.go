package schema_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/runner"
)

// For every parameter with a range (min/max tags), the schema and the
// checker agree on both sides of each bound: the value just outside is
// refused by both, the bound itself (or just inside an exclusive one) by
// neither.
func TestRangesAgreeWithChecker(t *testing.T) {
	s := compile(t)
	reg := builtin.Registry()
	n := 0
	for _, spec := range reg.All() {
		for _, f := range actions.FieldsOf(spec.Params) {
			r, ok := actions.RangeOf(f)
			if !ok {
				continue
			}
			n++
			var outside, inside []any
			if r.Min != nil {
				if r.ExclusiveMin {
					outside, inside = append(outside, *r.Min), append(inside, *r.Min+1)
					if r.Durations() {
						outside = append(outside, fmt.Sprintf("%gs", *r.Min))
					}
				} else {
					outside, inside = append(outside, *r.Min-1), append(inside, *r.Min)
				}
			}
			if r.Max != nil {
				outside, inside = append(outside, *r.Max+1), append(inside, *r.Max)
			}
			for _, v := range outside {
				schemaErr, checkErr := judge(t, s, reg, spec.Name, f.Name, v)
				if !schemaErr || !checkErr {
					t.Errorf("%s %s: %v (%s): schema refuses %v, checker refuses %v; want both", spec.Name, f.Name, v, r.Describe(), schemaErr, checkErr)
				}
			}
			for _, v := range inside {
				schemaErr, checkErr := judge(t, s, reg, spec.Name, f.Name, v)
				if schemaErr || checkErr {
					t.Errorf("%s %s: %v (%s): schema refuses %v, checker refuses %v; want neither", spec.Name, f.Name, v, r.Describe(), schemaErr, checkErr)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d parameters have a range; the built-in actions have more", n)
	}
}

// judge reports whether the schema and the checker each refuse value v
// for parameter param of action (other problems of the step, such as
// missing required parameters, are not counted).
func judge(t *testing.T, s *jsonschema.Schema, reg *actions.Registry, action, param string, v any) (schemaErr, checkErr bool) {
	t.Helper()
	doc := map[string]any{"name": "x", "steps": []any{map[string]any{"action": action, "with": map[string]any{param: v}}}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var ve *jsonschema.ValidationError
	if errors.As(s.Validate(inst), &ve) {
		schemaErr = at(ve, []string{"steps", "0", "with", param})
	}
	sc, err := runner.Load("x.yaml", b) // JSON is YAML
	if sc == nil {
		t.Fatalf("%s: %v", b, err)
	}
	_, cerr := runner.Check(sc, reg)
	var ds runner.Diagnostics
	if errors.As(runner.Merge(err, cerr), &ds) {
		for _, d := range ds {
			if strings.HasPrefix(d.Msg, "parameter "+param+": ") {
				checkErr = true
			}
		}
	}
	return schemaErr, checkErr
}

// at reports whether a leaf of the error tree is at location loc.
func at(ve *jsonschema.ValidationError, loc []string) bool {
	if len(ve.Causes) == 0 {
		return slices.Equal(ve.InstanceLocation, loc)
	}
	for _, c := range ve.Causes {
		if at(c, loc) {
			return true
		}
	}
	return false
}

// Parameter groups (actions.Grouper) are in the schema as in the checker:
// none and two of an exactly-one group are refused, one is accepted.
func TestGroupsInSchema(t *testing.T) {
	s := compile(t)
	reg := builtin.Registry()
	cases := []struct {
		with string
		ok   bool
	}{
		{`{action: files.verify, with: {on: "1"}}`, false},
		{`{action: files.verify, with: {on: "1", from: a.json, files: []}}`, false},
		{`{action: files.verify, with: {on: "1", from: a.json}}`, true},
		{`{action: files.verify, with: {instance: "1", files: "${{ [] }}"}}`, true},
		{`{action: instance.create, with: {gpu: RTX_4090, offer: {id: 1}}}`, false},
		{`{action: instance.create, with: {gpu: RTX_4090}}`, true},
		{`{action: standby.create, with: {gpu: "1", offer: {id: 1}, machine_type: e2-small}}`, false},
		{`{action: standby.create, with: {gpu: "1"}}`, true},
	}
	for _, c := range cases {
		src := "name: x\nsteps: [" + c.with + "]"
		schemaOK := s.Validate(yamlToJSON(t, []byte(src))) == nil
		sc, err := runner.Load("x.yaml", []byte(src))
		if sc == nil {
			t.Fatal(err)
		}
		_, cerr := runner.Check(sc, reg)
		checkOK := runner.Merge(err, cerr) == nil
		if schemaOK != c.ok || checkOK != c.ok {
			t.Errorf("%s: schema accepts %v, checker accepts %v (%v); want %v", c.with, schemaOK, checkOK, cerr, c.ok)
		}
	}
}
