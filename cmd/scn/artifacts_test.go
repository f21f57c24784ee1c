package main

import (
	"slices"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

// htmlPaths gives every scenario its own file beside the index, whatever
// the names: equal names, names with path separators, an index named like
// a scenario's report.
func TestHTMLPathsAreDistinct(t *testing.T) {
	js := func(names ...string) []*journal.Journal {
		var out []*journal.Journal
		for _, n := range names {
			out = append(out, &journal.Journal{Scenario: n})
		}
		return out
	}
	for _, c := range []struct {
		index string
		names []string
		want  []string
	}{
		{"out/r.html", []string{"a", "b"}, []string{"out/r-a.html", "out/r-b.html"}},
		{"out/r.html", []string{"a", "a", "a"}, []string{"out/r-a.html", "out/r-a-2.html", "out/r-a-3.html"}},
		{"r.html", []string{"../x/y", "two words", ".."}, []string{"r-.._x_y.html", "r-two_words.html", "r-scenario.html"}},
		{"r", []string{"a"}, []string{"r-a.html"}},
		{"r-a.html", []string{"", "a"}, []string{"r-a-scenario.html", "r-a-a.html"}},
	} {
		if got := htmlPaths(c.index, js(c.names...)); !slices.Equal(got, c.want) {
			t.Errorf("htmlPaths(%q, %q) = %q, want %q", c.index, c.names, got, c.want)
		}
	}
}
