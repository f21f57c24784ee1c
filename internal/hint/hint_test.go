package hint

import "testing"

func TestHint(t *testing.T) {
	known := []string{"host", "port", "user", "key", "workspace"}
	cases := []struct{ in, want string }{
		{"hots", ` (did you mean "host"?)`}, // transposition is one edit
		{"workspce", ` (did you mean "workspace"?)`},
		{"zzzzzzzz", " (known: host, port, user, key, workspace)"},
	}
	for _, c := range cases {
		if got := Hint(c.in, known); got != c.want {
			t.Errorf("Hint(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	many := make([]string, 13)
	for i := range many {
		many[i] = string(rune('a'+i)) + "xxxxxxxx"
	}
	if got := Hint("qqqq", many); got != "" {
		t.Errorf("Hint with 13 distant names = %q, want empty", got)
	}
}
