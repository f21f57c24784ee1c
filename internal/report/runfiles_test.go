package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
	"github.com/scnlabs/scn/internal/secret"
)

// The run directory holds the journal as given, and the reports rendered
// from it through the masker; LoadHistory finds the run there.
func TestWriteRunFiles(t *testing.T) {
	j := fixture.Failing()
	const secretID = "29012456" // the failover GPU's id, quoted all over the reports
	runs := t.TempDir()
	dir := filepath.Join(runs, j.RunID)
	if err := WriteRunFiles(dir, j, secret.New(secretID)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"metrics.json", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secretID) || !strings.Contains(string(b), secret.Mask) {
			t.Errorf("%s is not masked", name)
		}
	}
	back, err := journal.Read(filepath.Join(dir, "journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	if back.RunID != j.RunID || len(back.Steps) != len(j.Steps) || back.Resources[2].ID != secretID {
		t.Errorf("journal.json does not hold the journal as given (the runner masks it): run %s, %d steps, %+v",
			back.RunID, len(back.Steps), back.Resources)
	}
	if got, skipped, err := LoadHistory(runs); err != nil || len(skipped) != 0 || len(got) != 1 || got[0].RunID != j.RunID {
		t.Errorf("LoadHistory of the run directory's parent: %d runs, skipped %v, %v", len(got), skipped, err)
	}
}
