package cli

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// closingReport is the part of a run's output from the closing report on.
func closingReport(t *testing.T, stdout string) string {
	t.Helper()
	i := strings.Index(stdout, "\n════")
	if i < 0 {
		t.Fatalf("no closing report in:\n%s", stdout)
	}
	return stdout[i+1:]
}

func TestReportRendersPastRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pass := e.scn("run", e.write("pass.yaml", "name: pass\ndescription: says hello\nsteps:\n  - action: log\n    with: { message: hello }\n"))
	fail := e.scn("run", e.write("fail.yaml", "name: fail\nsteps:\n  - assert: 1 + 1 == 3\n"))
	if pass.code != 0 || fail.code != 1 {
		t.Fatalf("runs: exit %d and %d", pass.code, fail.code)
	}
	runs, err := os.ReadDir(filepath.Join(e.state, "runs"))
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	byName := map[string]string{} // scenario → run dir
	for _, d := range runs {
		dir := filepath.Join(e.state, "runs", d.Name())
		byName[readJournal(t, filepath.Join(dir, "journal.json")).Scenario] = dir
	}

	// By directory and by run id, the report is exactly what the run showed.
	for _, arg := range []string{byName["pass"], filepath.Base(byName["pass"])} {
		r := e.scn("report", arg)
		if r.code != 0 || r.stdout != closingReport(t, pass.stdout) {
			t.Errorf("scn report %s: exit %d\n%s\nwant the run's closing report:\n%s", arg, r.code, r.stdout, closingReport(t, pass.stdout))
		}
	}
	html, junit := filepath.Join(e.dir, "out", "run.html"), filepath.Join(e.dir, "out", "junit.xml")
	r := e.scn("report", filepath.Base(byName["fail"]), "--html", html, "--junit", junit)
	if r.code != 0 || r.stdout != closingReport(t, fail.stdout) {
		t.Fatalf("scn report --html --junit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<html") || !strings.Contains(string(b), "<title>FAIL · fail · "+filepath.Base(byName["fail"])) {
		t.Errorf("HTML report: %v\n%.300s", err, b)
	}
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if b, err := os.ReadFile(junit); err != nil || xml.Unmarshal(b, &suites) != nil || len(suites.Suites) != 1 ||
		suites.Suites[0].Name != "fail" || suites.Suites[0].Failures == 0 {
		t.Errorf("JUnit report: %v %+v", err, suites)
	}

	// History over all runs; a corrupt one is reported and skipped.
	bad := filepath.Join(e.state, "runs", "corrupt")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "journal.json"), []byte("{"), 0o644)
	hist := filepath.Join(e.dir, "history.html")
	r = e.scn("report", "--history", filepath.Join(e.state, "runs"), "--html", hist)
	if r.code != 0 || !strings.Contains(r.stderr, "skipping "+filepath.Join(bad, "journal.json")) {
		t.Fatalf("scn report --history: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"2 runs in ", "PASS  pass", "FAIL  fail", byName["pass"], byName["fail"]} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("history table lacks %q:\n%s", want, r.stdout)
		}
	}
	if b, err := os.ReadFile(hist); err != nil || !strings.Contains(string(b), "pass") || !strings.Contains(string(b), "fail") {
		t.Errorf("history page: %v", err)
	}

	for _, c := range [][]string{{"report", "no-such-run"}, {"report"}, {"report", "--history", filepath.Join(e.dir, "nowhere")}} {
		if r := e.scn(c...); r.code != 2 {
			t.Errorf("scn %v: exit %d, want 2\n%s", c, r.code, r.stderr)
		}
	}
}
