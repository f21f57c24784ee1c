package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

// decodeOnly parses out as exactly one JSON value into v: anything else
// on stdout (a console line before or after) fails the test.
func decodeOnly(t *testing.T, what, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: stdout is not JSON: %v\n%s", what, err, out)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON value on stdout:\n%s", what, out)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		t.Fatalf("%s: something after the JSON on stdout: %s", what, extra)
	}
}

// TestJSONAndHTMLOfSeveralScenarios: with --json -, stdout is only JSON
// (one scenario: the journal object; several: an array) and the console is
// on stderr; --html with several scenarios writes an index page linking a
// report per scenario, distinct even for two scenarios of one name; scn
// report --json - gives back the same journal.
func TestJSONAndHTMLOfSeveralScenarios(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pass := e.write("pass.yaml", "name: twin\nsteps:\n  - action: log\n    with: { message: hello }\n")
	fail := e.write("fail.yaml", "name: twin\nsteps:\n  - assert: 1 + 1 == 3\n")
	other := e.write("other.yaml", "name: other\nsteps:\n  - action: log\n    with: { message: hi }\n")

	one := e.scn("run", pass, "--json", "-")
	var j journal.Journal
	decodeOnly(t, "scn run --json - (one scenario)", one.stdout, &j)
	if one.code != 0 || j.Scenario != "twin" || j.Status != journal.StatusPassed || !strings.Contains(one.stderr, "PASS") {
		t.Fatalf("one scenario: exit %d, journal %s %s; the console belongs on stderr:\n%s", one.code, j.Scenario, j.Status, one.stderr)
	}

	html := filepath.Join(e.dir, "out", "drills.html")
	many := e.scn("run", pass, fail, other, "--json", "-", "--html", html)
	var js []journal.Journal
	decodeOnly(t, "scn run --json - (three scenarios)", many.stdout, &js)
	if many.code != 1 || len(js) != 3 {
		t.Fatalf("three scenarios: exit %d, %d journals\nstderr:\n%s", many.code, len(js), many.stderr)
	}
	for i, want := range []string{journal.StatusPassed, journal.StatusFailed, journal.StatusPassed} {
		if js[i].Status != want {
			t.Errorf("journal %d (%s): %s, want %s (in the order given)", i, js[i].Scenario, js[i].Status, want)
		}
	}
	if !strings.Contains(many.stderr, "scn · 3 scenarios") {
		t.Errorf("the combined summary belongs on stderr:\n%s", many.stderr)
	}

	index, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{ // file → the run id its report must show
		"drills-twin.html":   js[0].RunID,
		"drills-twin-2.html": js[1].RunID,
		"drills-other.html":  js[2].RunID,
	}
	for name, runID := range pages {
		if !strings.Contains(string(index), `href="`+name+`"`) {
			t.Errorf("index page does not link %s", name)
		}
		b, err := os.ReadFile(filepath.Join(e.dir, "out", name))
		if err != nil || !strings.Contains(string(b), runID) {
			t.Errorf("%s: %v; want the report of run %s", name, err, runID)
		}
	}
	if !strings.Contains(string(index), "<title>FAIL · 2/3 scenarios passed") {
		t.Errorf("index page title: %.400s", index)
	}

	// scn report --json - gives the run's journal back, the report on stderr.
	rep := e.scn("report", js[1].RunID, "--json", "-")
	var back journal.Journal
	decodeOnly(t, "scn report --json -", rep.stdout, &back)
	if rep.code != 0 || back.RunID != js[1].RunID || back.Status != journal.StatusFailed || !strings.Contains(rep.stderr, "FAIL") {
		t.Errorf("scn report --json -: exit %d, run %s %s\nstderr:\n%s", rep.code, back.RunID, back.Status, rep.stderr)
	}
	file := filepath.Join(e.dir, "two.json")
	if rep := e.scn("report", js[0].RunID, js[2].RunID, "--json", file); rep.code != 0 {
		t.Fatalf("scn report --json FILE: exit %d\n%s", rep.code, rep.stderr)
	}
	b, _ := os.ReadFile(file)
	var two []journal.Journal
	decodeOnly(t, "scn report RUN RUN --json FILE", string(b), &two)
	if len(two) != 2 || two[0].RunID != js[0].RunID || two[1].RunID != js[2].RunID {
		t.Errorf("scn report of two runs: %d journals", len(two))
	}
}
