package runner

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Secret vars (and env vars holding a masked value: a target's
// credentials) are masked as the values they are, and as what expressions
// make of them. Masking matches text, so a value computed from a secret
// (upper(vars.token), vars.token[4:], a field of an object-valued secret
// var) would show in clear; instead, every string an expression reading a
// secret var gives is masked from then on (taint at the expression), and
// an explanation shows *** for a part that reads one.

// maskSecretVar registers a secret var's value: a scalar as its text, an
// object or list by its leaves (vars.db.pass is used alone).
func (r *Runner) maskSecretVar(v any) {
	switch v.(type) {
	case nil:
	case map[string]any, []any:
		r.maskLeaves(v)
	default:
		r.mask.Add(formatValue(v))
	}
}

// maskLeaves registers the leaves of a secret value worth masking: text and
// numbers of 4 characters or more. A port 22, a count 1 or a flag true in
// a secret object would otherwise mask every such word in every output.
func (r *Runner) maskLeaves(v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			r.maskLeaves(e)
		}
	case []any:
		for _, e := range x {
			r.maskLeaves(e)
		}
	case bool, nil:
	default:
		if s := formatValue(x); len(s) >= 4 {
			r.mask.Add(s)
		}
	}
}

// exprSecrets is what one parse of an expression tells the masking: whether
// it reads a secret, and the string literals it writes itself.
type exprSecrets struct {
	reads    bool
	literals map[string]bool
}

// readsSecret reports whether src reads a secret: a var declared secret
// (vars.<name>, vars["<name>"]), an env var whose value is masked (a
// target's credential: env.B2_APPLICATION_KEY), or vars or env passed
// whole (get(vars, "token"), toJSON(env)), which may reach any of them.
func (r *Runner) readsSecret(src string) bool { return r.secretsOf(src).reads }

// noSecrets is what every expression reads when the run has no secret.
var noSecrets = &exprSecrets{}

// secretsOf parses src once per run (until: loops evaluate it at every
// poll) and keeps what masking needs of it.
func (r *Runner) secretsOf(src string) *exprSecrets {
	if len(r.secretVars) == 0 && len(r.secretEnv) == 0 {
		return noSecrets // every evaluation asks: no allocation
	}
	r.secretMu.Lock()
	known, ok := r.secretReads[src]
	r.secretMu.Unlock()
	if ok {
		return known
	}
	secret := map[string]map[string]bool{"vars": r.secretVars, "env": r.secretEnv}
	info := &exprSecrets{literals: map[string]bool{}}
	if tree, err := parser.Parse(src); err != nil {
		info.reads = true // cannot tell: say it does
	} else {
		members := map[ast.Node]bool{}
		ast.Walk(&tree.Node, visitor(func(n ast.Node) {
			if x, ok := n.(*ast.StringNode); ok {
				info.literals[x.Value] = true
			}
			if id, prop, ok := identMember(n); ok && secret[id.Value] != nil {
				members[id] = true
				info.reads = info.reads || secret[id.Value][prop]
			}
		}))
		ast.Walk(&tree.Node, visitor(func(n ast.Node) {
			if id, ok := n.(*ast.IdentifierNode); ok && len(secret[id.Value]) > 0 && !members[id] {
				info.reads = true
			}
		}))
	}
	r.secretMu.Lock()
	if r.secretReads == nil {
		r.secretReads = map[string]*exprSecrets{}
	}
	r.secretReads[src] = info
	r.secretMu.Unlock()
	return info
}

// maxTainted bounds the values taint adds in a run: each one is a pattern
// every later write is matched against, and an expression reading a
// secret and the clock (in an until: loop) would add one per poll.
const maxTainted = 256

// taint masks from now on what expression src gave when it reads a secret
// var: text of 4 characters or more, and numbers as long (a PIN) — not a
// string the expression wrote itself (vars.token != "" ? "set" : "unset"
// gives "set", which is no secret).
func (r *Runner) taint(src string, v any) {
	if v == nil {
		return
	}
	info := r.secretsOf(src)
	if !info.reads {
		return
	}
	if s, ok := v.(string); ok && info.literals[s] {
		return
	}
	r.secretMu.Lock()
	full := r.tainted >= maxTainted
	r.tainted++
	r.secretMu.Unlock()
	if !full {
		r.maskLeaves(v)
	}
}

// noteSecretEnv records which env vars hold a masked value (a target's
// credentials, a secret var's source), once the vars are resolved: an
// expression reading one is tainted like one reading a secret var.
func (r *Runner) noteSecretEnv() {
	r.secretEnv, r.secretReads = map[string]bool{}, nil // what the vars' defaults cached knew no env
	for k, v := range r.env {
		if s, ok := v.(string); ok && len(s) >= 4 && r.mask.String(s) != s {
			r.secretEnv[k] = true
		}
	}
}
