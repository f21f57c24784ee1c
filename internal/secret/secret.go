// Package secret keeps credentials out of everything scn prints or writes.
// A Masker holds the values of the target's credentials (VAST_API_KEY, B2
// keys, the GCP private key...) and of scenario vars declared `secret: true`,
// and replaces them with "***" in strings, errors, journal values and
// streams (console, remote command output), including the encodings in which
// they commonly leak: base64 (as in Basic auth or a config blob), URL
// escaping and JSON escaping (a PEM key inside a JSON error).
//
// The rule for short values: a value of MinLen (4) bytes or more is hidden
// wherever it appears. A shorter one (after trimming spaces) is hidden only
// as a whole word — not touching a letter, digit or '_' on a side where it
// starts or ends with one — so a 3-character PIN "042" is masked in
// "pin=042" but "a" or "ok" does not wreck every line of output; its
// encodings are not added. Empty and all-space values are ignored.
package secret

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Mask replaces every run of secret bytes.
const Mask = "***"

// MinLen is the length from which a value is masked everywhere, not only as
// a whole word.
const MinLen = 4

// Masker masks a growing set of secrets. The zero value and a nil *Masker
// are usable and mask nothing. It is safe for concurrent use; values added
// during a run apply to everything masked afterwards.
type Masker struct {
	mu     sync.Mutex // serialises Add
	values []string   // trimmed values added so far, for dedup
	set    atomic.Pointer[set]
}

// New returns a Masker for values.
func New(values ...string) *Masker {
	m := &Masker{}
	m.Add(values...)
	return m
}

// Add registers secret values (see the package doc for short values).
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	added := false
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v != "" && !slices.Contains(m.values, v) {
			m.values = append(m.values, v)
			added = true
		}
	}
	if added {
		m.set.Store(build(m.values))
	}
}

func (m *Masker) load() *set {
	if m == nil {
		return nil
	}
	return m.set.Load()
}

// String returns s with every secret replaced by Mask.
func (m *Masker) String(s string) string {
	set := m.load()
	if set == nil || !set.mayContain(s) {
		return s
	}
	st := newState()
	out, _ := set.scan(&st, make([]byte, 0, len(s)), []byte(s), true)
	return string(out)
}

// Error returns err with its message masked; errors.Is and errors.As still
// see err through Unwrap. Print the returned error, never what As extracts:
// the inner errors still hold the secret. nil stays nil, and an error whose
// message holds no secret is returned as is.
func (m *Masker) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if masked := m.String(msg); masked != msg {
		return &maskedError{msg: masked, err: err}
	}
	return err
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// mayContain is a cheap pre-check that lets String skip the scan (and its
// allocations) for the common string that holds no secret.
func (s *set) mayContain(str string) bool {
	for _, p := range s.pats {
		if strings.Contains(str, p.s) {
			return true
		}
	}
	return false
}

// build turns the secret values into the patterns to look for.
func build(values []string) *set {
	byText := map[string]pattern{}
	add := func(s string, short bool) {
		p := pattern{s: s}
		if short {
			p.start, p.end = isWord(int(s[0])), isWord(int(s[len(s)-1]))
		}
		if old, ok := byText[s]; ok { // the laxer rule wins
			p.start, p.end = p.start && old.start, p.end && old.end
		}
		byText[s] = p
	}
	for _, v := range values {
		if len(v) < MinLen {
			add(v, true)
			continue
		}
		for _, variant := range variants(v) {
			if len(variant) >= MinLen {
				add(variant, false)
			}
		}
	}
	s := &set{}
	for _, text := range slices.Sorted(maps.Keys(byText)) { // deterministic order
		p := byText[text]
		s.first[text[0]] = append(s.first[text[0]], int32(len(s.pats)))
		s.pats = append(s.pats, p)
	}
	return s
}

// variants lists the forms in which v may show up in output: itself, each
// of its lines (a PEM key printed line by line, or with CRLF), and its
// JSON-, URL- and base64-encoded forms.
func variants(v string) []string {
	out := []string{v}
	if strings.ContainsAny(v, "\r\n") {
		for line := range strings.Lines(v) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	out = append(out, jsonEscapes(v)...)
	out = append(out, url.QueryEscape(v), url.PathEscape(v))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(v)))
		out = append(out, base64Cores(enc, v)...)
	}
	return out
}

// jsonEscapes is v as it appears inside a JSON string, with and without
// HTML escaping (json.Marshal turns < > & into \u003c...).
func jsonEscapes(v string) []string {
	var out []string
	b, _ := json.Marshal(v)
	out = append(out, string(b[1:len(b)-1]))
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	s := strings.TrimSuffix(sb.String(), "\n")
	return append(out, s[1:len(s)-1])
}

// base64Cores returns, for each of the three alignments v can have inside a
// longer base64 text ("user:" + key in Basic auth), the characters that
// depend on v's bytes alone. The 1-2 characters at each edge mix in
// neighbouring bytes and cannot be predicted; they leak at most a few bits.
func base64Cores(enc *base64.Encoding, v string) []string {
	raw := enc.WithPadding(base64.NoPadding)
	var out []string
	for shift := range 3 {
		b := raw.EncodeToString(append(make([]byte, shift), v...))
		from := (8*shift + 5) / 6        // first char with no pad bits
		to := (8 * (shift + len(v))) / 6 // chars ending within v
		if to-from >= MinLen {
			out = append(out, b[from:to])
		}
	}
	return out
}
