package report

import (
	"io"
	"path/filepath"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/secret"
)

// WriteRunFiles saves a run's record in its directory, the files `scn
// report` and `scn report --history` read: journal.json as the runner
// filled it (masked already), metrics.json and report.html through mask.
func WriteRunFiles(dir string, j *journal.Journal, mask *secret.Masker) error {
	if err := journal.Write(filepath.Join(dir, "journal.json"), j); err != nil {
		return err
	}
	if err := mask.WriteFile(filepath.Join(dir, "metrics.json"), func(w io.Writer) error { return WriteMetrics(w, j) }); err != nil {
		return err
	}
	return mask.WriteFile(filepath.Join(dir, "report.html"), func(w io.Writer) error { return WriteHTML(w, j) })
}
