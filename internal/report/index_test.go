package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

// The index page of several scenarios links each report, in the order
// given, shows the worst verdict, and renders clean in a browser.
func TestIndexHTML(t *testing.T) {
	var entries []IndexEntry
	for i, d := range drills() {
		entries = append(entries, IndexEntry{Journal: d.j, Href: fmt.Sprintf("r-%d.html", i)})
	}
	var b bytes.Buffer
	if err := WriteIndexHTML(&b, entries); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	last := -1
	for _, e := range entries {
		i := strings.Index(html, `<a href="`+e.Href+`">`+e.Journal.Scenario+`</a>`)
		if i < 0 || i < last {
			t.Errorf("link to %s (%s) missing or out of order", e.Href, e.Journal.Scenario)
		}
		last = i
	}
	if !strings.Contains(html, "<title>FAIL · ") || !strings.Contains(html, `class="hero fail"`) {
		t.Errorf("a failed drill among them: the page is not FAIL:\n%.300s", html)
	}
	p := open(t, browser(t), "index.html", b.Bytes(), 1280, 900, false)
	p.checkClean(t)
	p.checkNoOverflow(t, true)
}

// WriteJSONAll: one journal is the object, several an array, none [].
func TestJSONAll(t *testing.T) {
	ds := drills()
	for n, want := range map[int]byte{1: '{', 2: '[', 0: '['} {
		var js []*journal.Journal
		for i := range n {
			js = append(js, ds[i].j)
		}
		var b bytes.Buffer
		if err := WriteJSONAll(&b, js); err != nil || b.Len() == 0 || b.Bytes()[0] != want || !json.Valid(b.Bytes()) {
			t.Errorf("%d journals: %v %.40q", n, err, b.String())
		}
	}
}
