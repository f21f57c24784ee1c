package runner

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/scnlabs/scn/actions"
)

// resolveVars computes vars from --var overrides and defaults.
func (r *Runner) resolveVars() error {
	var diags Diagnostics
	declared := map[string]*Var{}
	var names []string
	for _, v := range r.sc.Vars {
		declared[v.Name] = v
		names = append(names, v.Name)
	}
	for _, k := range sortedKeys(r.opts.Vars) {
		if declared[k] == nil {
			d := diags.errorf(Pos{File: "--var " + k}, "scenario %s declares no var %q", r.sc.File, k)
			d.Hint = hintFor(k, names)
		}
	}
	r.vars, r.secretVars = map[string]any{}, map[string]bool{}
	for _, v := range r.sc.Vars {
		if v.Secret {
			r.secretVars[v.Name] = true
		}
	}
	for _, v := range r.sc.Vars {
		var val any
		raw, given := r.opts.Vars[v.Name]
		switch {
		case given && raw == "" && v.Required:
			d := diags.errorf(Pos{File: "--var " + v.Name}, "var %s is required: --var %s= gives it no value", v.Name, v.Name)
			d.Hint = fmt.Sprintf("pass a value: --var %s=...", v.Name)
		case given:
			var err error
			if val, err = typedVar(raw, v.Default); err != nil {
				if v.Secret { // the error quotes the value
					err = fmt.Errorf("the value given does not fit the default's type (not shown: the var is secret)")
				}
				diags.errorf(Pos{File: "--var " + v.Name}, "%v", err)
			}
		case v.Default != nil:
			scope := map[string]any{"env": r.env, "vars": r.vars}
			var err error
			val, err = v.Default.Eval(func(e *Expr) (any, error) { return r.eval(e, scope) })
			if err != nil && v.Secret {
				// The error may quote what the default read (an env var).
				diags.errorf(v.Pos, "var %s: its default could not be computed (the error is not shown: the var is secret)", v.Name).Hint =
					"check what its default reads, e.g. the env vars it names"
			} else if err != nil {
				diags.errorf(v.Pos, "var %s: %v", v.Name, err)
			}
		case v.Required:
			d := diags.errorf(v.Pos, "var %s is required", v.Name)
			d.Hint = fmt.Sprintf("pass --var %s=...", v.Name)
		}
		if v.Secret {
			r.maskSecretVar(val)
		}
		r.vars[v.Name] = val
	}
	if len(diags) > 0 {
		return diags
	}
	return nil
}

// typedVar types a --var string like the var's literal default: a var
// whose default is a string stays a string even when given 4090.
func typedVar(raw string, def *Value) (any, error) {
	if def == nil || def.HasExpr() || def.Kind != ScalarValue {
		return actions.ParseScalar(raw), nil
	}
	switch d := def.Scalar.(type) {
	case string:
		return raw, nil
	case int:
		// strconv, not fmt.Sscan: Sscan reads a number's start and ignores
		// the rest, so "0,30" was 0 — for max_price, "no limit".
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 0)
		if err != nil {
			if f, ferr := strconv.ParseFloat(strings.TrimSpace(raw), 64); ferr == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return nil, fmt.Errorf("expected a whole number like the default %d, got %q (write the default as %d.0 in the scenario to take fractions)", d, raw, d)
			}
			return nil, fmt.Errorf("expected a whole number like the default %d, got %q", d, raw)
		}
		return int(n), nil
	case float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			hint := ""
			if strings.Contains(raw, ",") {
				hint = " (the decimal separator is a dot: 0.30)"
			}
			return nil, fmt.Errorf("expected a number like the default %v, got %q%s", d, raw, hint)
		}
		return f, nil
	case bool:
		switch raw {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("expected true or false, got %q", raw)
	}
	return actions.ParseScalar(raw), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// environ is what expressions see as env.*: m, or the process environment.
func environ(m map[string]string) map[string]any {
	out := map[string]any{}
	if m == nil {
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
		return out
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}
