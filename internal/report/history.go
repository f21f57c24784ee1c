package report

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/scnlabs/scn/internal/journal"
)

// LoadHistory reads every <dir>/*/journal.json (dir is usually .scn/runs),
// oldest run first. A journal that cannot be read or parsed is skipped and
// reported in skipped, so one corrupt run does not hide the others; err is
// for a dir that cannot be listed.
func LoadHistory(dir string) (journals []*journal.Journal, skipped []error, err error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, fmt.Errorf("history: %w", err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*", "journal.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("history: listing %s: %w", dir, err)
	}
	for _, p := range paths {
		j, err := journal.Read(p)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("skipping %s: %w", p, err))
			continue
		}
		journals = append(journals, j)
	}
	sortRuns(journals)
	return journals, skipped, nil
}

// sortRuns orders runs by start time, then run id.
func sortRuns(js []*journal.Journal) {
	sort.SliceStable(js, func(a, b int) bool {
		if !js[a].StartedAt.Equal(js[b].StartedAt) {
			return js[a].StartedAt.Before(js[b].StartedAt)
		}
		return js[a].RunID < js[b].RunID
	})
}

type historyView struct {
	CSS       template.CSS
	Scenarios []scenarioHistory
	Runs      int
	From, To  string
}

// scenarioHistory is one scenario's runs: charts in time order, the
// table newest first.
type scenarioHistory struct {
	Name         string
	Passed, Runs int
	Last         runRow
	Charts       []template.HTML
	Table        []runRow
}

type runRow struct {
	J                             *journal.Journal
	Verdict, Class, Started       string
	Time, Cost, Files, MTTR, Fail string
}

// WriteHistoryHTML writes a self-contained page of the runs' trends: per
// scenario, inline-SVG charts of total time, MTTR (standby drills), cost
// and pass/fail across runs in time order, and a table of the runs. The
// journals may come in any order.
func WriteHistoryHTML(w io.Writer, journals []*journal.Journal) error {
	runs := append([]*journal.Journal(nil), journals...)
	sortRuns(runs)
	v := historyView{CSS: styleCSS, Runs: len(runs)}
	if len(runs) > 0 {
		v.From = runs[0].StartedAt.UTC().Format("2006-01-02")
		v.To = runs[len(runs)-1].StartedAt.UTC().Format("2006-01-02")
	}
	byName := map[string][]*journal.Journal{}
	var names []string
	for _, j := range runs {
		if byName[j.Scenario] == nil {
			names = append(names, j.Scenario)
		}
		byName[j.Scenario] = append(byName[j.Scenario], j)
	}
	sort.Strings(names)
	for _, name := range names {
		v.Scenarios = append(v.Scenarios, scenarioOf(name, byName[name]))
	}
	return templates.ExecuteTemplate(w, "history.html.tmpl", v)
}

func scenarioOf(name string, runs []*journal.Journal) scenarioHistory {
	s := scenarioHistory{Name: name, Runs: len(runs)}
	for i := len(runs) - 1; i >= 0; i-- {
		s.Table = append(s.Table, rowOf(runs[i]))
		if runs[i].Status == journal.StatusPassed {
			s.Passed++
		}
	}
	s.Last = s.Table[0]
	charts := []template.HTML{
		lineChart("total", "Total time", runs, func(j *journal.Journal) (float64, bool) { return j.Seconds, true }, timeScale),
		lineChart("mttr", "MTTR", runs, func(j *journal.Journal) (float64, bool) {
			if j.Standby == nil || j.Standby.MTTRSeconds <= 0 {
				return 0, false
			}
			return j.Standby.MTTRSeconds, true
		}, timeScale),
		lineChart("cost", "Cost", runs, func(j *journal.Journal) (float64, bool) { return j.Cost.TotalUSD, true }, usdScale),
		passFailChart(runs),
	}
	for _, c := range charts {
		if c != "" {
			s.Charts = append(s.Charts, c)
		}
	}
	return s
}

func rowOf(j *journal.Journal) runRow {
	r := runRow{J: j, Verdict: Verdict(j), Class: verdictClass(j), Started: j.StartedAt.UTC().Format("2006-01-02 15:04"),
		Time: fmtSecs(j.Seconds), Cost: fmtUSD(j.Cost.TotalUSD), Files: validationText(j.Validation)}
	if j.Cost.Simulated {
		r.Cost += "*"
	}
	if j.Standby != nil && j.Standby.MTTRSeconds > 0 {
		r.MTTR = fmtSecs(j.Standby.MTTRSeconds)
	}
	if s := failingStep(j); s != nil {
		r.Fail = stepLabel(s) + ": " + firstLine(s.Error)
	} else if j.Status != journal.StatusPassed {
		r.Fail = firstLine(j.Error)
	}
	if n := failedUndos(j); n > 0 && r.Fail == "" {
		r.Fail = plural(n, "cleanup action failed", "cleanup actions failed")
	}
	return r
}
