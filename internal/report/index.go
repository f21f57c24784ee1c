package report

import (
	"html/template"
	"io"

	"github.com/scnlabs/scn/internal/journal"
)

// WriteJSONAll writes the journals of one invocation as JSON: one
// scenario's journal is the object itself (as WriteJSON), several are one
// array of them, so a reader parses the output with one decode either way.
func WriteJSONAll(w io.Writer, journals []*journal.Journal) error {
	if len(journals) == 1 {
		return WriteJSON(w, journals[0])
	}
	if journals == nil {
		journals = []*journal.Journal{} // [] rather than null
	}
	return writeIndented(w, journals)
}

// IndexEntry is one scenario's line on the index page: its journal and the
// address of its own HTML report, relative to the index.
type IndexEntry struct {
	Journal *journal.Journal
	Href    string
}

// indexView is what index.html.tmpl renders.
type indexView struct {
	CSS     template.CSS
	Verdict string // of the whole invocation: the worst run's
	Class   string
	Passed  int
	Rows    []indexRow
}

type indexRow struct {
	runRow
	Href string
}

// WriteIndexHTML writes the page that links the HTML reports of several
// scenarios run together (`scn run a.yaml b.yaml --html FILE`): a line per
// scenario with its verdict, time, cost, validation and what failed, in
// the order they were given, each linking to its own report.
func WriteIndexHTML(w io.Writer, entries []IndexEntry) error {
	v := indexView{CSS: styleCSS, Verdict: "PASS", Class: "pass"}
	for _, e := range entries {
		r := indexRow{runRow: rowOf(e.Journal), Href: e.Href}
		v.Rows = append(v.Rows, r)
		if e.Journal.Status == journal.StatusPassed {
			v.Passed++
		}
		// The page's colour is the worst run's: fail over warn over pass.
		if c := r.Class; c == "fail" || (c == "warn" && v.Class == "pass") {
			v.Verdict, v.Class = r.Verdict, c
		}
	}
	return templates.ExecuteTemplate(w, "index.html.tmpl", v)
}
