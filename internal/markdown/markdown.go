// Package markdown writes text safely into GitHub-flavoured Markdown: the
// job summary (internal/report) and the pull-request plan (`scn plan
// --markdown`) put scenario names, expressions and error messages — text
// a user wrote — into tables and code spans, where a stray |, * or
// backtick would break the layout or inject markup.
package markdown

import "strings"

// Text escapes s so Markdown and HTML in it show as typed, on one line,
// and a pipe does not end a table cell.
func Text(s string) string { return textEscaper.Replace(s) }

var textEscaper = strings.NewReplacer("\\", `\\`, "&", "&amp;", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`,
	"`", "\\`", "[", `\[`, "]", `\]`, "|", `\|`, "\n", " ")

// Code is s as an inline code span, fenced with more backticks than any
// run in s, on one line, with pipes escaped so it can sit in a table cell
// (GitHub unescapes \| inside code spans in tables).
func Code(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// Block is a fenced code block that no line of s can close.
func Block(s string) string {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return fence + "\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n\n"
}

func longestRun(s string, c rune) int {
	best, cur := 0, 0
	for _, r := range s {
		if r == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}
