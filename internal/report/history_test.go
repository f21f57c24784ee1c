package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

// historyDir writes runs as .scn/runs/<run-id>/journal.json, plus a corrupt
// journal and a directory without one.
func historyDir(t *testing.T, runs []*journal.Journal) string {
	t.Helper()
	dir := t.TempDir()
	for _, j := range runs {
		if err := journal.Write(filepath.Join(dir, j.RunID, "journal.json"), j); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "corrupt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "corrupt", "journal.json"), []byte(`{"version": 1, "run_id": `), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "in-progress"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadHistory(t *testing.T) {
	runs := fixture.History(5)
	dir := historyDir(t, runs)
	got, skipped, err := LoadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(runs) {
		t.Fatalf("loaded %d runs, want %d", len(got), len(runs))
	}
	for i := 1; i < len(got); i++ {
		if got[i].StartedAt.Before(got[i-1].StartedAt) {
			t.Fatalf("runs not in time order: %s before %s", got[i-1].RunID, got[i].RunID)
		}
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0].Error(), filepath.Join("corrupt", "journal.json")) {
		t.Errorf("want the corrupt journal reported by path, got %v", skipped)
	}
	if _, _, err := LoadHistory(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing history directory must be an error")
	}
}

// TestHistoryHTMLInBrowser checks the trend charts in a real browser: one
// point per run for time and cost, one per standby run for MTTR, one bar
// per run for pass/fail.
func TestHistoryHTMLInBrowser(t *testing.T) {
	runs, _, err := LoadHistory(historyDir(t, fixture.History(8)))
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := WriteHistoryHTML(&html, runs); err != nil {
		t.Fatal(err)
	}
	p := open(t, browser(t), "history.html", html.Bytes(), 1280, 900, false)
	p.checkClean(t)
	p.checkNoOverflow(t, true)
	p.screenshot(t, "history.png", true)

	count := map[string]int{}
	failed := map[string]int{}
	mttr := map[string]int{}
	for _, j := range runs {
		count[j.Scenario]++
		if j.Status != journal.StatusPassed {
			failed[j.Scenario]++
		}
		if j.Standby != nil && j.Standby.MTTRSeconds > 0 {
			mttr[j.Scenario]++
		}
	}
	if len(count) != 2 || failed["realtime-sync"] == 0 || failed["cpu-standby"] == 0 {
		t.Fatalf("the fixture history should hold two scenarios with failures: %v %v", count, failed)
	}
	for name, n := range count {
		sel := fmt.Sprintf(`document.getElementById("sc-%s")`, name)
		for metric, want := range map[string]int{"total": n, "cost": n, "mttr": mttr[name]} {
			q := fmt.Sprintf(`%s.querySelector('svg.trend[data-metric="%s"]')`, sel, metric)
			if want == 0 {
				if eval[bool](t, p, q+` !== null`) {
					t.Errorf("%s: a %s chart without data should not be drawn", name, metric)
				}
				continue
			}
			pts := eval[int](t, p, q+`.querySelector("polyline").points.numberOfItems`)
			dots := eval[int](t, p, q+`.querySelectorAll("circle.pt").length`)
			if pts != want || dots != want {
				t.Errorf("%s %s chart: polyline has %d points and %d dots, want %d", name, metric, pts, dots, want)
			}
		}
		bars := eval[int](t, p, sel+`.querySelectorAll('svg.passfail rect.pf').length`)
		red := eval[int](t, p, sel+`.querySelectorAll('svg.passfail rect.pf.fail').length`)
		if bars != n || red != failed[name] {
			t.Errorf("%s pass/fail chart: %d bars, %d red; want %d and %d", name, bars, red, n, failed[name])
		}
		rows := eval[int](t, p, sel+`.querySelectorAll("table.runs tbody tr").length`)
		if rows != n {
			t.Errorf("%s: table has %d runs, want %d", name, rows, n)
		}
	}
	// Time order: the x of the points grows.
	xs := eval[[]float64](t, p, `[...document.querySelectorAll('#sc-realtime-sync svg[data-metric="total"] circle.pt')].map(c => +c.getAttribute("cx"))`)
	for i := 1; i < len(xs); i++ {
		if xs[i] <= xs[i-1] {
			t.Fatalf("points not in time order: %v", xs)
		}
	}
}

// The history gives each recovery phase's p50 and p95 (nearest rank) per
// scenario, over the runs whose data came back, read back from journals
// on disk.
func TestRecoveryHistoryPercentiles(t *testing.T) {
	if got := percentile([]float64{5, 1, 4, 2, 3}, 50); got != 3 {
		t.Errorf("p50 of 1..5 = %v, want 3", got)
	}
	if got := percentile([]float64{5, 1, 4, 2, 3}, 95); got != 5 {
		t.Errorf("p95 of 1..5 = %v, want 5", got)
	}
	runs, _, err := LoadHistory(historyDir(t, fixture.History(8)))
	if err != nil {
		t.Fatal(err)
	}
	var restores []float64
	recovered := 0
	for _, j := range runs {
		if j.Scenario == "cpu-standby" && j.Recovery != nil && j.Recovery.Recovered {
			restores = append(restores, j.Recovery.Phases.Restore)
			recovered++
		}
	}
	if recovered != 7 {
		t.Fatalf("%d cpu-standby runs recovered; the fixture loses one of 8", recovered)
	}
	var b strings.Builder
	WriteRecoveryHistory(&b, runs)
	out := b.String()
	want := fmt.Sprintf("restore       %s  %s  download + extract + checks", fmtSecs(percentile(restores, 50)), fmtSecs(percentile(restores, 95)))
	for _, w := range []string{"Recovery of cpu-standby over 7 runs", "Recovery of realtime-sync over 6 runs", "PHASE", want} {
		if !strings.Contains(out, w) {
			t.Errorf("recovery history lacks %q:\n%s", w, out)
		}
	}
}
