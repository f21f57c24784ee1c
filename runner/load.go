package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	goyaml "github.com/goccy/go-yaml"
	goparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"

	"github.com/scnlabs/scn/actions"
)

// LoadFile reads and parses a scenario. Problems come back as Diagnostics,
// all of them, each with file:line:col.
func LoadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{Pos: Pos{File: path}, Msg: "cannot read scenario: " + strings.TrimPrefix(err.Error(), "open "+path+": ")}}
	}
	return Load(path, data)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Load parses scenario source; file is used in positions.
func Load(file string, data []byte) (*Scenario, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil, Diagnostics{{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: "the scenario is empty", Hint: "a scenario needs at least name: and steps:"}}
		}
		return nil, Diagnostics{yamlDiagnostic(file, data, err)}
	}
	l := &loader{file: file}
	// A second document is reported with the first one's problems: it
	// must not hide them, and fixing it should not reveal new ones.
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d := l.diags.errorf(Pos{File: file, Line: extra.Line, Col: extra.Column}, "a scenario file holds one YAML document; found a second one (---)")
		d.Hint = "put each scenario in a file of its own, or delete the --- line and what follows"
	case err.Error() != "EOF":
		l.diags = append(l.diags, yamlDiagnostic(file, data, err))
	}
	l.tags(&doc, "", false)
	sc := l.scenario(&doc)
	if len(l.diags) > 0 {
		// The scenario is returned too, as far as it could be read, so the
		// checker can report its problems in the same pass.
		return sc, l.diags.sorted()
	}
	return sc, nil
}

// yamlDiagnostic places a YAML syntax error. yaml.v3 gives only the line
// where the enclosing block starts, which is rarely where the mistake is;
// goccy/go-yaml's parser points at the offending token (line and column),
// so it is asked where the error is. When it finds none (the two parsers
// differ on a few inputs), the first prefix of the file that no longer
// parses gives the line.
func yamlDiagnostic(file string, data []byte, err error) *Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	d := &Diagnostic{Pos: Pos{File: file, Line: 1, Col: 1}}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg, d.Pos.Line = m[2], line
		if p := problemLine(data, line); p > line {
			d.Pos.Line = p
			msg += fmt.Sprintf(" (in the block that starts at line %d)", line)
		}
	}
	var se *goyaml.SyntaxError
	if _, gerr := goparser.ParseBytes(data, 0); errors.As(gerr, &se) && se.Token != nil && se.Token.Position != nil {
		d.Pos.Line, d.Pos.Col, msg = se.Token.Position.Line, se.Token.Position.Column, se.Message
	}
	d.Hint = "check the indentation and quoting here"
	if tab := tabColumn(data, d.Pos.Line); tab > 0 {
		d.Pos.Col, msg = tab, "a tab in the indentation"
		d.Hint = "YAML indents with spaces only: replace the tab with spaces"
	}
	d.Msg = "YAML syntax error: " + msg
	return d
}

// tabColumn is the column of the first tab in the indentation of line
// (1-based), or 0 when it has none.
func tabColumn(data []byte, line int) int {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 0
	}
	for i, c := range lines[line-1] {
		switch c {
		case '\t':
			return i + 1
		case ' ':
		default:
			return 0
		}
	}
	return 0
}

// problemLine finds the line that breaks the YAML: the first prefix of
// the file (in whole lines, from the block yaml.v3 names on) that no
// longer parses ends at the culprit.
func problemLine(data []byte, from int) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	for k := max(from, 1); k <= len(lines) && k < from+200; k++ {
		var n yaml.Node
		if err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n); err != nil {
			return k
		}
	}
	return from
}

// tags reports every value carrying a YAML tag of the author's own
// (`if: !vars.x`): YAML reads `!vars.x` as a tag and the value as empty,
// so the expression would silently vanish. Standard tags (!!str) are
// fine. key is the mapping key n is the value of (or the list n is in is
// the value of, then inList), for the hint.
func (l *loader) tags(n *yaml.Node, key string, inList bool) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if customTag(n) {
		text := n.Tag
		if n.Value != "" {
			text += " " + n.Value
		}
		d := l.errorf(n, "YAML reads %s as a tag, not as part of the value", n.Tag)
		what := "the value"
		if slices.Contains(exprKeys, key) {
			what = "the expression"
		}
		d.Hint = fmt.Sprintf("quote %s: %q", what, text)
		if key != "" && !inList {
			d.Hint = fmt.Sprintf("quote %s: %s: %q", what, key, text)
		}
	}
	for i, c := range n.Content {
		switch {
		case n.Kind == yaml.SequenceNode:
			l.tags(c, key, true)
		case n.Kind == yaml.MappingNode && i%2 == 1:
			l.tags(c, n.Content[i-1].Value, false)
		default:
			l.tags(c, "", false)
		}
	}
}

// exprKeys hold bare expressions (no ${{ }}), where a leading ! is common.
var exprKeys = []string{"if", "expect", "assert", "expr"}

// customTag tells a value tagged by the author (reported by tags).
func customTag(n *yaml.Node) bool {
	return strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
}

type loader struct {
	file  string
	diags Diagnostics
	nodes int // values read, to stop alias bombs
}

// maxNodes bounds the values a scenario may expand into: YAML aliases can
// make a small file describe an exponential tree ("billion laughs").
const maxNodes = 200_000

func (l *loader) pos(n *yaml.Node) Pos { return Pos{File: l.file, Line: n.Line, Col: n.Column} }

// exprPos is where a bare expression's text starts (after an opening quote).
func (l *loader) exprPos(n *yaml.Node) Pos {
	p := l.pos(n)
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
		p.Col++
	}
	return p
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) *Diagnostic {
	return l.diags.errorf(l.pos(n), format, args...)
}

// pair is one key: value of a mapping.
type pair struct {
	key string
	k   *yaml.Node
	v   *yaml.Node
}

// mapping returns the pairs of a mapping node, with aliases resolved and
// `<<: *anchor` merges expanded; duplicate keys are reported. what names
// the mapping in messages ("step", "retry").
func (l *loader) mapping(n *yaml.Node, what string) ([]pair, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s must be a mapping (key: value), got %s", what, kindName(n))
		return nil, false
	}
	if l.tooBig(n) {
		return nil, false
	}
	var out []pair
	index := map[string]int{}
	explicit := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Value == "<<" && k.Tag == "!!merge" {
			merged, ok := l.mapping(v, what)
			if ok {
				for _, p := range merged {
					if _, dup := index[p.key]; !dup {
						index[p.key] = len(out)
						out = append(out, p)
					}
				}
			}
			continue
		}
		if first := explicit[k.Value]; first != nil {
			l.errorf(k, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		explicit[k.Value] = k
		if j, ok := index[k.Value]; ok { // an explicit key overrides a merged one
			out[j] = pair{k.Value, k, v}
			continue
		}
		index[k.Value] = len(out)
		out = append(out, pair{k.Value, k, v})
	}
	return out, true
}

// tooBig counts a value and reports (once) when the file expands too far.
func (l *loader) tooBig(n *yaml.Node) bool {
	l.nodes++
	if l.nodes == maxNodes {
		l.errorf(n, "the scenario expands into more than %d values (YAML aliases?): refusing it", maxNodes)
	}
	return l.nodes >= maxNodes
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return resolve(n.Content[0])
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// unknownKey reports a key that is not in known, with a did-you-mean.
func (l *loader) unknownKey(p pair, where string, known []string) {
	d := l.errorf(p.k, "unknown key %q in %s", p.key, where)
	if h := hintFor(p.key, known); h != "" {
		d.Hint = h
	}
}

// hintFor suggests the closest known name, or lists them.
func hintFor(name string, known []string) string {
	h := actions.Hint(name, known)
	h = strings.TrimSuffix(strings.TrimPrefix(h, " ("), ")")
	return h
}
