package report

import (
	"fmt"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
)

// writeControl says, under the verdict, what a negative control did and
// whether the drill saw it.
func writeControl(b *strings.Builder, p palette, j *journal.Journal) {
	nc := j.NegativeControl
	if nc == nil {
		return
	}
	for _, in := range nc.Injections {
		fmt.Fprintf(b, "      %s after step %s: %s\n", p.dim("negative control "+nc.Kind), in.Step, in.Did)
	}
	switch nc.Verdict {
	case journal.ControlDetected:
		fmt.Fprintf(b, "      %s %s: detected at step %s\n", p.green("✓"), nc.Kind, nc.DetectedAt)
	case journal.ControlExposed:
		fmt.Fprintf(b, "      %s %s: this drill cannot see it\n", p.red("✗"), nc.Kind)
	}
}

// detectedBy says whether s is the step that detected the run's negative
// control: its failure is the control passing.
func detectedBy(j *journal.Journal, s *journal.Step) bool {
	nc := j.NegativeControl
	return nc != nil && nc.Verdict == journal.ControlDetected && nc.DetectedAt == s.ID && s.Status == journal.StepFailed
}
