package runner

// AdHoc builds a one-step scenario running action with literal params, as
// `scn do` does; keep leaves what it creates in place.
func AdHoc(action string, with map[string]any, keep bool) *Scenario {
	pos := Pos{File: "scn do " + action}
	s := &Step{Pos: pos, Index: 1, Section: "steps", ID: "do", IDGiven: true, IDPos: pos,
		Action: action, ActionPos: pos, With: literal(with, pos), Keep: keep}
	return &Scenario{File: pos.File, Name: "do " + action, Steps: []*Step{s}}
}

// literal wraps a generic value as a Value with no expressions.
func literal(v any, pos Pos) *Value {
	switch x := v.(type) {
	case map[string]any:
		out := &Value{Pos: pos, Kind: MapValue, Map: map[string]*Value{}}
		for _, k := range sortedKeys(x) {
			kp := Pos{File: pos.File + " --with " + k}
			out.Keys = append(out.Keys, k)
			out.KeyPos = append(out.KeyPos, kp)
			out.Map[k] = literal(x[k], kp)
		}
		return out
	case []any:
		out := &Value{Pos: pos, Kind: ListValue}
		for _, e := range x {
			out.List = append(out.List, literal(e, pos))
		}
		return out
	}
	return &Value{Pos: pos, Kind: ScalarValue, Scalar: v}
}
