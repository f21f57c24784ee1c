package assembly

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scnlabs/scn/internal/hint"
)

// ConfigError is one problem in scn.yaml, at the line and column of the
// offending key or value.
type ConfigError struct {
	File   string
	Line   int
	Column int
	Key    string // dotted path of the setting: targets.lab.hosts[0].port
	Msg    string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Key, e.Msg)
}

// decoder walks scn.yaml's nodes, collecting every problem rather than
// stopping at the first, so one edit can fix them all.
type decoder struct {
	file string
	dir  string // scn.yaml's directory: relative paths are resolved against it
	errs []*ConfigError
}

func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.errs = append(d.errs, &ConfigError{File: d.file, Line: n.Line, Column: n.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// field is one key: value of a mapping, both nodes kept for positions.
type field struct{ key, val *yaml.Node }

// fields is a mapping whose keys were checked against the known ones.
type fields map[string]field

// val is the value of key, nil when absent.
func (f fields) val(key string) *yaml.Node { return f[key].val }

// secretWords are keys people write when they paste a credential; each is
// refused with a pointer to the environment instead of "unknown key".
var secretWords = []string{"password", "passphrase", "token", "secret", "api_key", "access_key", "secret_key", "private_key", "key_id", "application_key"}

// mapping checks n is a mapping (a null counts as empty) with only known
// keys, none repeated, and returns its fields. path names n in messages.
func (d *decoder) mapping(n *yaml.Node, path string, known ...string) fields {
	out := fields{}
	if n = resolve(n); n == nil || isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping (key: value), not %s", describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		name, where := k.Value, join(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			d.fail(k, path, "keys must be plain names")
		case slices.Contains(known, name):
			if prev, dup := out[name]; dup {
				d.fail(k, where, "set twice (first at line %d)", prev.key.Line)
				continue
			}
			out[name] = field{key: k, val: v}
		case slices.Contains(known, name+"_env"):
			d.fail(k, where, "secrets never go in scn.yaml: put the value in an environment variable and name it with %s_env", name)
		case slices.Contains(secretWords, strings.ToLower(name)):
			d.fail(k, where, "looks like a secret, and secrets never go in scn.yaml: keep it in an environment variable")
		default:
			d.fail(k, where, "unknown key%s", hint.Hint(name, known))
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return strconv.Quote(n.Value)
}

// str reads a scalar as text ("" for a null).
func (d *decoder) str(n *yaml.Node, key string) string {
	if n == nil || isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, key, "must be a single value, not %s", describe(n))
		return ""
	}
	return n.Value
}

// integer reads a whole number in [lo, hi].
func (d *decoder) integer(n *yaml.Node, key string, lo, hi int64) int64 {
	if n == nil {
		return 0
	}
	var v int64
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		d.fail(n, key, "must be a whole number, not %s", describe(n))
		return 0
	}
	if v < lo || v > hi {
		d.fail(n, key, "must be between %d and %d, not %d", lo, hi, v)
		return 0
	}
	return v
}

// number reads a number ≥ 0.
func (d *decoder) number(n *yaml.Node, key string) float64 {
	if n == nil {
		return 0
	}
	var v float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil {
		d.fail(n, key, "must be a number, not %s", describe(n))
		return 0
	}
	if v < 0 {
		d.fail(n, key, "must not be negative")
		return 0
	}
	return v
}

// duration reads a Go duration ≥ 0 (5s, 1m30s).
func (d *decoder) duration(n *yaml.Node, key string) time.Duration {
	s := d.str(n, key)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.fail(n, key, "must be a duration like 5s, 1m30s or 250ms, not %q", s)
		return 0
	}
	if v < 0 {
		d.fail(n, key, "must not be negative")
		return 0
	}
	return v
}

func (d *decoder) oneOf(n *yaml.Node, key string, choices ...string) string {
	s := d.str(n, key)
	if s != "" && !slices.Contains(choices, s) {
		d.fail(n, key, "must be %s, not %q%s", strings.Join(choices, " or "), s, hint.Hint(s, choices))
		return ""
	}
	return s
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envName reads the NAME of an environment variable that holds a secret.
// The value is never repeated in the message: it may be the secret itself.
func (d *decoder) envName(n *yaml.Node, key string) string {
	s := d.str(n, key)
	if s != "" && !envNameRE.MatchString(s) {
		d.fail(n, key, "must name an environment variable (letters, digits, _), like B2_KEY_ID; "+
			"if this is the secret itself, move it into a variable: secrets never go in scn.yaml")
		return ""
	}
	return s
}

// path reads a file path: ~/ is the home directory, and a relative path is
// relative to scn.yaml's directory (not to wherever scn was started).
func (d *decoder) path(n *yaml.Node, key string) string {
	s := d.str(n, key)
	switch {
	case s == "":
		return ""
	case s == "~" || strings.HasPrefix(s, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			d.fail(n, key, "cannot expand ~: %v", err)
			return ""
		}
		return filepath.Join(home, s[1:])
	case strings.HasPrefix(s, "~"):
		d.fail(n, key, "only ~/ (your home) is expanded; write the full path")
		return ""
	case filepath.IsAbs(s):
		return filepath.Clean(s)
	}
	return filepath.Join(d.dir, s)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError places a YAML syntax error. yaml.v3 names the line where the
// enclosing block starts, and no column; the culprit is the last line of
// the shortest prefix of the file (whole lines, from that block on) that no
// longer parses.
func syntaxError(file string, data []byte, err error) *ConfigError {
	e := &ConfigError{File: file, Line: 1, Column: 1, Msg: "YAML syntax error: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return e
	}
	e.Line, _ = strconv.Atoi(m[1])
	e.Msg = "YAML syntax error: " + m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	for k := max(e.Line, 1); k <= len(lines) && k < 2000; k++ {
		var n yaml.Node
		if yaml.Unmarshal(bytes.Join(lines[:k], nil), &n) != nil {
			if k != e.Line {
				e.Msg += fmt.Sprintf(" (in the block that starts at line %d)", e.Line)
				e.Line = k
			}
			break
		}
	}
	return e
}
