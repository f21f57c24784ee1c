package report

import (
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
)

// ColorEnabled reports whether output to f should be coloured: f is a
// terminal, NO_COLOR is unset or empty (https://no-color.org) and TERM is
// not "dumb".
func ColorEnabled(f *os.File) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" || f == nil {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// palette colours text with ANSI SGR codes, or leaves it alone when off.
type palette struct{ on bool }

func (p palette) sgr(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p palette) bold(s string) string   { return p.sgr("1", s) }
func (p palette) dim(s string) string    { return p.sgr("2", s) }
func (p palette) red(s string) string    { return p.sgr("31", s) }
func (p palette) green(s string) string  { return p.sgr("32", s) }
func (p palette) yellow(s string) string { return p.sgr("33", s) }
func (p palette) cyan(s string) string   { return p.sgr("36", s) }

// badge is the coloured verdict word.
func (p palette) badge(v string) string {
	switch v {
	case "PASS":
		return p.sgr("1;32", v)
	case "FAIL", "ERROR":
		return p.sgr("1;31", v)
	}
	return p.sgr("1;33", v)
}

// status colours a step or undo status word.
func (p palette) status(word string) string {
	switch word {
	case "ok", "done", "passed", "✓":
		return p.green(word)
	case "FAIL", "failed", "✗", "canceled", "error":
		return p.red(word)
	}
	return p.yellow(word)
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// visibleLen is the width of s on a terminal, ignoring colour codes.
func visibleLen(s string) int {
	return utf8.RuneCountInString(ansi.ReplaceAllString(s, ""))
}

// table lays out rows in columns padded to their widest visible cell.
// Columns listed in right are right-aligned (numbers); the last column is
// never padded so lines carry no trailing spaces.
type table struct {
	indent string
	right  map[int]bool
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visibleLen(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		line := t.indent
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-visibleLen(c))
			switch {
			case t.right[i]:
				line += pad + c
			case i == len(r)-1:
				line += c
			default:
				line += c + pad
			}
			if i < len(r)-1 {
				line += "  "
			}
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// indentLines prefixes every line of s (split on newlines) with prefix.
func indentLines(prefix, s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, prefix+l)
	}
	return out
}
