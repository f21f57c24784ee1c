package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
)

// Recovery phases of a failover drill (journal.Recovery), as the closing
// report, the HTML report and `scn report --history` show them.

// recoveryMeaning says what each phase measures, in the reports' words.
var recoveryMeaning = map[string]string{
	"detection":    "failure → detected",
	"provisioning": "new GPU rented → SSH ready",
	"restore":      "download + extract + checks",
	"verification": "the drill's verification",
}

// writeRecovery prints the phases of a run's recovery.
func writeRecovery(b *strings.Builder, p palette, r *journal.Recovery) {
	if r == nil {
		return
	}
	title := fmt.Sprintf("Recovery onto %s: %s from the failure to verified", r.Instance, fmtSecsLong(r.Seconds))
	if !r.Recovered {
		title = fmt.Sprintf("Recovery onto %s: %s, %s", r.Instance, fmtSecsLong(r.Seconds), p.red("the data did not come back"))
	}
	section(b, p, title)
	t := &table{indent: "  ", right: map[int]bool{1: true}}
	for i, secs := range r.Phases.Seconds() {
		name := journal.RecoveryPhaseNames[i]
		t.add(name, fmtSecs(secs), p.dim(recoveryMeaning[name]))
	}
	b.WriteString(t.String())
}

// recoveryRow is one phase in the HTML report, its bar its share of the
// recovery.
type recoveryRow struct {
	Name, Meaning, Secs string
	Bar                 template.CSS
}

func recoveryRows(r *journal.Recovery) []recoveryRow {
	if r == nil {
		return nil
	}
	var rows []recoveryRow
	for i, secs := range r.Phases.Seconds() {
		name := journal.RecoveryPhaseNames[i]
		rows = append(rows, recoveryRow{Name: name, Meaning: recoveryMeaning[name], Secs: fmtSecs(secs),
			Bar: css("width:%.1f%%", clamp(100*secs/math.Max(r.Seconds, 1e-9)))})
	}
	return rows
}

// phaseStat is one phase across a scenario's runs.
type phaseStat struct {
	Name, Meaning string
	Runs          int
	P50, P95      string
}

// recoveryStats gives each phase's p50 and p95 (nearest rank: the value
// below which that share of the runs fall) over the runs that recovered
// (their verification passed),
// plus the whole recovery's; nil when none did.
func recoveryStats(runs []*journal.Journal) []phaseStat {
	series := make([][]float64, len(journal.RecoveryPhaseNames)+1)
	for _, j := range runs {
		if j.Recovery == nil || !j.Recovery.Recovered {
			continue // a recovery that failed has no time to recovery
		}
		for i, s := range j.Recovery.Phases.Seconds() {
			series[i] = append(series[i], s)
		}
		series[len(series)-1] = append(series[len(series)-1], j.Recovery.Seconds)
	}
	if len(series[0]) == 0 {
		return nil
	}
	var out []phaseStat
	for i, xs := range series {
		name, meaning := "recovery", "failure → verified, wall clock"
		if i < len(journal.RecoveryPhaseNames) {
			name = journal.RecoveryPhaseNames[i]
			meaning = recoveryMeaning[name]
		}
		out = append(out, phaseStat{Name: name, Meaning: meaning, Runs: len(xs), P50: fmtSecs(percentile(xs, 50)), P95: fmtSecs(percentile(xs, 95))})
	}
	return out
}

// percentile is the nearest-rank p-th percentile of xs (not empty).
func percentile(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// WriteRecoveryHistory prints, per scenario with failover runs, each
// recovery phase's p50 and p95 across its runs.
func WriteRecoveryHistory(w io.Writer, journals []*journal.Journal) {
	names, byName := byScenario(journals)
	for _, name := range names {
		stats := recoveryStats(byName[name])
		if stats == nil {
			continue
		}
		fmt.Fprintf(w, "\nRecovery of %s over %s\n", name, plural.Of(stats[0].Runs, "run", "runs"))
		t := &table{indent: "  ", right: map[int]bool{1: true, 2: true}}
		t.add("PHASE", "P50", "P95", "")
		for _, s := range stats {
			t.add(s.Name, s.P50, s.P95, s.Meaning)
		}
		io.WriteString(w, t.String())
	}
}
