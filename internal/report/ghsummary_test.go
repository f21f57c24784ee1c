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
