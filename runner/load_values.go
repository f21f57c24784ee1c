package runner

// The loader's readers of single YAML nodes: values (with their ${{ }}
// expressions), scalars of each type, lists and durations. Each one
// records a positioned error on the loader and returns a zero value, so
// loading goes on and every mistake in a file is reported at once.

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// value converts a YAML node into a Value, finding ${{ }} in strings.
func (l *loader) value(n *yaml.Node) *Value {
	n = resolve(n)
	v := &Value{Pos: l.pos(n)}
	if l.tooBig(n) {
		return v
	}
	switch n.Kind {
	case yaml.MappingNode:
		v.Kind, v.Map = MapValue, map[string]*Value{}
		pairs, _ := l.mapping(n, "value")
		for _, p := range pairs {
			v.Keys = append(v.Keys, p.key)
			v.KeyPos = append(v.KeyPos, l.pos(p.k))
			v.Map[p.key] = l.value(p.v)
		}
	case yaml.SequenceNode:
		v.Kind = ListValue
		for _, e := range n.Content {
			v.List = append(v.List, l.value(e))
		}
	default:
		v.Scalar = l.scalar(n)
		if s, ok := v.Scalar.(string); ok {
			quoted := n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0
			t, d := parseTemplate(s, l.pos(n), quoted)
			if d != nil {
				l.diags = append(l.diags, d)
			}
			v.Tmpl = t
		}
	}
	return v
}

// scalar decodes a scalar node with YAML's types.
func (l *loader) scalar(n *yaml.Node) any {
	var x any
	if err := n.Decode(&x); err != nil {
		return n.Value
	}
	switch x.(type) {
	case int, float64, bool, string, nil:
		return x
	}
	return n.Value // timestamps, binary: keep the text
}

// exprList reads `expect:`/`assert:` — one expression or a list of them.
func (l *loader) exprList(n *yaml.Node, what string) []*Expr {
	var out []*Expr
	for _, s := range l.strList(n, what) {
		if e := l.bareExpr(s, what); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// bareExpr reads an expression written without ${{ }} (if, expect,
// assert, until). Wrapping it in ${{ }} anyway is accepted.
func (l *loader) bareExpr(n *yaml.Node, what string) *Expr {
	n = resolve(n)
	if customTag(n) {
		return nil // reported by tags
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(n, "%s must be an expression, got %s", what, kindName(n))
		return nil
	}
	src, pos := n.Value, l.exprPos(n)
	if t, _ := parseTemplate(src, l.pos(n), pos.Col != n.Column); t != nil && t.Single != nil {
		return t.Single
	}
	if strings.TrimSpace(src) == "" {
		l.errorf(n, "%s is empty", what)
		return nil
	}
	return &Expr{Source: src, Pos: pos}
}

func (l *loader) strList(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			l.errorf(n, "%s is empty", what)
			return nil
		}
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, e := range n.Content {
			e = resolve(e)
			if customTag(e) {
				continue // reported by tags
			}
			if e.Kind != yaml.ScalarNode {
				l.errorf(e, "each entry of %s must be a string, got %s", what, kindName(e))
				continue
			}
			out = append(out, e)
		}
		return out
	}
	l.errorf(n, "%s must be a string or a list of strings, got %s", what, kindName(n))
	return nil
}

func (l *loader) str(n *yaml.Node, what string) string {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(n, "%s must be a string, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

// emptyString reports text written as "" where a value is needed: it
// would otherwise pass as if nothing were wrong.
func (l *loader) emptyString(n *yaml.Node, v, what, hint string) {
	if v == "" && resolve(n).Tag == "!!str" {
		l.errorf(n, "%s is empty", what).Hint = hint
	}
}

func (l *loader) boolean(n *yaml.Node, what string) bool {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		b, _ := strconv.ParseBool(n.Value)
		return b
	}
	l.errorf(n, "%s must be true or false, got %s", what, kindName(n))
	return false
}

func (l *loader) number(n *yaml.Node, what string) float64 {
	f, _ := l.numberOK(n, what)
	return f
}

// numberOK is number, and whether n was one (else it is reported), so
// that a caller checks the range of numbers only: max_usd: cheap is one
// problem, not also "must be positive".
func (l *loader) numberOK(n *yaml.Node, what string) (float64, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		f, err := strconv.ParseFloat(n.Value, 64)
		if err == nil {
			return f, true
		}
	}
	l.errorf(n, "%s must be a number, got %s", what, kindName(n))
	return 0, false
}

func (l *loader) integer(n *yaml.Node, what string) int {
	i, _ := l.integerOK(n, what)
	return i
}

// integerOK is integer, and whether n was one (else it is reported), as
// numberOK.
func (l *loader) integerOK(n *yaml.Node, what string) (int, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		i, err := strconv.Atoi(n.Value)
		if err == nil {
			return i, true
		}
	}
	l.errorf(n, "%s must be a whole number, got %s", what, kindName(n))
	return 0, false
}

// durationOrExpr reads a duration, or a ${{ }} expression that computes
// one when the step runs (timeout: "${{ vars.wait }}").
func (l *loader) durationOrExpr(n *yaml.Node, what string) (time.Duration, *Expr) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(n.Value, "${{") {
		quoted := n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0
		t, d := parseTemplate(n.Value, l.pos(n), quoted)
		switch {
		case d != nil:
			l.diags = append(l.diags, d)
		case t.Single == nil:
			l.errorf(n, "%s must be one ${{ }} expression or a duration, not text around an expression", what)
		default:
			return 0, t.Single
		}
		return 0, nil
	}
	d, _ := l.duration(n, what)
	return d, nil
}

// duration reads "30s", "10m", "1h30m" or a number of seconds.
func (l *loader) duration(n *yaml.Node, what string) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!int", "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err == nil && f >= 0 {
				return time.Duration(f * float64(time.Second)), true
			}
			if err == nil {
				return 0, l.negativeDuration(n, what)
			}
		case "!!str":
			d, err := time.ParseDuration(strings.TrimSpace(n.Value))
			if err == nil && d >= 0 {
				return d, true
			}
			if err == nil {
				return 0, l.negativeDuration(n, what)
			}
		}
	}
	d := l.errorf(n, "%s must be a duration, got %s", what, kindName(n))
	d.Hint = "write 30s, 10m or 1h30m (or a number of seconds)"
	return 0, false
}

// negativeDuration reports a duration that parses but is below zero.
func (l *loader) negativeDuration(n *yaml.Node, what string) bool {
	d := l.errorf(n, "%s is negative (%s): a duration is 0 or more", what, strings.TrimSpace(n.Value))
	d.Hint = "write 30s, 10m or 1h30m (or a number of seconds)"
	return false
}

func hasKey(pairs []pair, key string) bool {
	for _, p := range pairs {
		if p.key == key {
			return true
		}
	}
	return false
}
