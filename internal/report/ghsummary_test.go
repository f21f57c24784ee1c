package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

func TestGitHubSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "step_summary.md")
	if err := os.WriteFile(path, []byte("earlier step output\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	all := []*journal.Journal{fixture.Passing(), fixture.Failing(), fixture.Standby()}
	if err := AppendGitHubSummary(path, all, "HTML reports and journals: artifact `scn-runs`"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "earlier step output\n") {
		t.Fatal("the summary must be appended, not overwrite the file")
	}
	golden(t, "ghsummary.golden", b[len("earlier step output\n"):])
	md := string(b)
	for _, want := range []string{"## ❌ scn: 1 of 3 drills failed", "| ❌ | realtime-sync | vast | 4m36s |", "valid = 1",
		"MD5 mismatch `/workspace/test-file-2.txt`", "429 Too Many Requests", "| 1m50s |", "📦 HTML reports and journals: artifact `scn-runs`"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// A run exported as a trace names it in every report a reader may start
// from: the closing report, the HTML page and the CI summary.
func TestReportsShowTheTraceID(t *testing.T) {
	j := fixture.Failing()
	j.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	var sum, html, gh strings.Builder
	if err := WriteSummary(&sum, j, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, j); err != nil {
		t.Fatal(err)
	}
	writeGitHubRun(&gh, j)
	for name, out := range map[string]string{"closing report": sum.String(), "HTML": html.String(), "GitHub summary": gh.String()} {
		if !strings.Contains(out, j.TraceID) {
			t.Errorf("the %s does not show the trace id", name)
		}
	}
}
