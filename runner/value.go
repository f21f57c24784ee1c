package runner

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"
)

// Value is a YAML value from a scenario (a `with:` tree, a var default) in
// which strings may hold ${{ }} expressions. It is evaluated after YAML
// parsing, never by text substitution: a value that is exactly one
// expression keeps the expression's type.
type Value struct {
	Pos    Pos
	Kind   ValueKind
	Scalar any       // literal scalar: string, int, float64, bool, nil
	Tmpl   *Template // a string scalar containing ${{ }}
	Keys   []string  // mapping keys, in order
	KeyPos []Pos
	Map    map[string]*Value
	List   []*Value
}

// ValueKind is scalar, mapping or list.
type ValueKind int

const (
	ScalarValue ValueKind = iota
	MapValue
	ListValue
)

// Template is a string with ${{ }} parts.
type Template struct {
	Raw    string
	Parts  []TemplatePart
	Single *Expr // set when the whole string is one expression
}

// TemplatePart is literal text or an expression.
type TemplatePart struct {
	Text string
	Expr *Expr
}

// Expr is one expression with where it stands; Program is set by the check.
type Expr struct {
	Source  string
	Pos     Pos
	Program *vm.Program
}

// Exprs lists every expression in the value tree, depth first.
func (v *Value) Exprs() []*Expr {
	if v == nil {
		return nil
	}
	var out []*Expr
	switch v.Kind {
	case ScalarValue:
		if v.Tmpl != nil {
			for _, p := range v.Tmpl.Parts {
				if p.Expr != nil {
					out = append(out, p.Expr)
				}
			}
		}
	case MapValue:
		for _, k := range v.Keys {
			out = append(out, v.Map[k].Exprs()...)
		}
	case ListValue:
		for _, e := range v.List {
			out = append(out, e.Exprs()...)
		}
	}
	return out
}

// HasExpr reports whether any part of the value is computed.
func (v *Value) HasExpr() bool { return len(v.Exprs()) > 0 }

// Eval computes the value with eval for each expression.
func (v *Value) Eval(eval func(*Expr) (any, error)) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch v.Kind {
	case MapValue:
		m := make(map[string]any, len(v.Keys))
		for _, k := range v.Keys {
			x, err := v.Map[k].Eval(eval)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case ListValue:
		l := make([]any, len(v.List))
		for i, e := range v.List {
			x, err := e.Eval(eval)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	}
	if v.Tmpl == nil {
		return v.Scalar, nil
	}
	if v.Tmpl.Single != nil {
		return eval(v.Tmpl.Single)
	}
	var b strings.Builder
	for _, p := range v.Tmpl.Parts {
		if p.Expr == nil {
			b.WriteString(p.Text)
			continue
		}
		x, err := eval(p.Expr)
		if err != nil {
			return nil, err
		}
		b.WriteString(formatValue(x))
	}
	return b.String(), nil
}

// formatValue renders a value inside a longer string: numbers without
// exponent noise, strings as they are, lists and objects as JSON.
func formatValue(x any) string {
	switch v := x.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case int, int64, bool, uint64:
		return fmt.Sprint(v)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}

// parseTemplate splits s at ${{ }} markers. pos is where s starts in the
// file; quoted tells whether the scalar was written with a quote, which
// shifts columns by one. It returns nil when s holds no expression.
func parseTemplate(s string, pos Pos, quoted bool) (*Template, *Diagnostic) {
	if !strings.Contains(s, "${{") {
		return nil, nil
	}
	t := &Template{Raw: s}
	rest, offset := s, 0
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			if rest != "" {
				t.Parts = append(t.Parts, TemplatePart{Text: rest})
			}
			break
		}
		if i > 0 {
			t.Parts = append(t.Parts, TemplatePart{Text: rest[:i]})
		}
		body := rest[i+3:]
		end := closing(body)
		lead := len(body) - len(strings.TrimLeft(body, " \t"))
		epos := columnShift(pos, s, offset+i+3+lead, quoted) // where the expression text starts
		open := columnShift(pos, s, offset+i, quoted)
		if end < 0 {
			return nil, &Diagnostic{Pos: open, Msg: "unterminated ${{ expression: missing }}"}
		}
		src := strings.TrimSpace(body[:end])
		if src == "" {
			return nil, &Diagnostic{Pos: open, Msg: "empty ${{ }} expression"}
		}
		t.Parts = append(t.Parts, TemplatePart{Expr: &Expr{Source: src, Pos: epos}})
		consumed := i + 3 + end + 2
		rest, offset = rest[consumed:], offset+consumed
	}
	if len(t.Parts) == 1 && t.Parts[0].Expr != nil {
		t.Single = t.Parts[0].Expr
	}
	return t, nil
}

// closing finds the }} that ends an expression, skipping quoted strings
// (an expression may compare with "}}").
func closing(s string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

// columnShift returns the position of byte offset off in a scalar starting
// at pos; exact for single-line scalars, the scalar's start otherwise.
func columnShift(pos Pos, s string, off int, quoted bool) Pos {
	if strings.Contains(s[:off], "\n") {
		return pos
	}
	p := pos
	p.Col += len([]rune(s[:off]))
	if quoted {
		p.Col++
	}
	return p
}
