package markdown

import "testing"

// Text from a run cannot break a table or the page, however it is written.
func TestEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"a|b *c* _d_ <b>":               `a\|b \*c\* \_d\_ &lt;b&gt;`,
		"two\nlines":                    "two lines",
		`back\slash`:                    `back\\slash`,
		"a|b <script> *x* [l](u)\nnext": `a\|b &lt;script&gt; \*x\* \[l\](u) next`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"a == b":   "`a == b`",
		"x `y` z":  "``x `y` z``",
		"`edge":    "`` `edge ``",
		"a || b":   "`a \\|\\| b`",
		"one\ntwo": "`one two`",
	} {
		if got := Code(in); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Block("has ``` inside\n"); got != "````\nhas ``` inside\n````\n\n" {
		t.Errorf("Block: %q", got)
	}
}
