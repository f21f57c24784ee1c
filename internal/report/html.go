package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
)

// The HTML reports are one self-contained file each: the stylesheet and
// the script are inlined, charts are inline SVG or CSS, and nothing is
// fetched from the network (not even a favicon), so a report can be
// attached to a CI run or mailed and still open years later.
//
//go:embed assets
var assets embed.FS

var (
	styleCSS  = template.CSS(mustAsset("assets/style.css"))
	reportJS  = template.JS(mustAsset("assets/report.js"))
	templates = template.Must(template.New("").Funcs(template.FuncMap{
		"secs": fmtSecs, "usd": fmtUSD, "clock": clock, "inc": func(i int) int { return i + 1 }, "bytes": fmtBytes, "rate": fmtRate, "via": fmtVia, "problem": problemText, "costNote": costNote, "priceNote": priceNote,
		"estimateSource": estimateSource,
	}).ParseFS(assets, "assets/*.tmpl"))
)

func mustAsset(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// reportView is what report.html.tmpl renders.
type reportView struct {
	J            *journal.Journal
	CSS          template.CSS
	JS           template.JS
	Verdict      string
	Class        string // pass | fail | warn
	Started      string
	KPIs         []kpi
	Failure      *failureView
	FailureTitle string
	RunError     string // the run's own error when it says more than the step's
	Leaked       []journal.Resource
	Timeline     timelineView
	Resources    []resourceRow
	Transfers    []transferRow
	ValidPct     float64
	Recovery     []recoveryRow
	Phases       []phaseView
	Steps        []stepView
	Vars         []keyValue
	Metrics      []keyValue
	Objectives   []objectiveView
}

type kpi struct {
	Label, Value, Sub, Class string
}

type failureView struct {
	Step         *journal.Step
	Label        string
	Error        string
	Expectations []journal.Expectation
}

type resourceRow struct {
	journal.Resource
	Lifetime string
	Share    template.CSS // bar of its part of the total cost
}

type transferRow struct {
	journal.Transfer
	Speed template.CSS // bar relative to the fastest transfer
}

type stepView struct {
	*journal.Step
	Label    string
	Outcome  string
	With     string
	Outputs  string
	Open     bool
	Failed   []journal.Expectation
	Anchored string
}

type keyValue struct{ Key, Value string }

type phaseView struct {
	journal.Phase
	Bar   template.CSS // its share of the run's time
	Steps string
}

// WriteHTML writes a self-contained HTML report of one run: verdict and
// totals, what failed with the expectations' values, a timeline with one
// bar per step (class "step-bar", data-step=id) over the phases and the
// cleanup, the cost of each resource, snapshot and restore throughput,
// validation with the failing files, standby figures, a failover's
// recovery phases and every step's parameters, outputs and logs.
func WriteHTML(w io.Writer, j *journal.Journal) error {
	v := reportView{J: j, CSS: styleCSS, JS: reportJS, Verdict: Verdict(j), Class: verdictClass(j),
		Started: j.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Leaked: leaked(j),
		Timeline: buildTimeline(j), Vars: keyValues(j.Vars), Metrics: metricValues(j.Metrics)}
	v.KPIs = kpis(j)
	v.Objectives = objectiveViews(j)
	v.FailureTitle = "What failed"
	if j.Status == journal.StatusInterrupted {
		v.FailureTitle = "Why the run stopped"
	}
	if s := failingStep(j); s != nil {
		v.Failure = &failureView{Step: s, Label: stepLabel(s), Error: s.Error, Expectations: failedExpectations(s)}
		if j.Error != "" && !strings.Contains(j.Error, s.Error) {
			v.RunError = j.Error
		}
	} else if j.Status != journal.StatusPassed && j.Error != "" {
		v.Failure, v.RunError = &failureView{}, j.Error
	}
	for _, r := range j.Resources {
		share := 0.0
		if j.Cost.TotalUSD > 0 {
			share = 100 * r.CostUSD / j.Cost.TotalUSD
		}
		v.Resources = append(v.Resources, resourceRow{Resource: r, Lifetime: fmtSecs(r.LifetimeSeconds), Share: css("width:%.1f%%", share)})
	}
	fastest := 0.0
	for _, t := range j.Snapshots {
		fastest = math.Max(fastest, t.MBPerSec)
	}
	for _, t := range j.Snapshots {
		v.Transfers = append(v.Transfers, transferRow{Transfer: t, Speed: css("width:%.1f%%", 100*t.MBPerSec/math.Max(fastest, 1e-9))})
	}
	v.ValidPct = validationRate(j.Validation)
	v.Recovery = recoveryRows(j.Recovery)
	for _, p := range j.Phases {
		v.Phases = append(v.Phases, phaseView{Phase: p, Steps: strings.Join(p.Steps, ", "),
			Bar: css("width:%.1f%%", clamp(100*p.Seconds/math.Max(j.Seconds, 1e-9)))})
	}
	for i := range j.Steps {
		s := &j.Steps[i]
		v.Steps = append(v.Steps, stepView{Step: s, Label: stepLabel(s), Outcome: stepOutcome(s),
			With: prettyJSON(s.With), Outputs: prettyJSON(s.Outputs), Failed: failedExpectations(s),
			Open: (s.Status == journal.StepFailed && !s.ContinueOnError) || s.Status == journal.StepCanceled})
	}
	return templates.ExecuteTemplate(w, "report.html.tmpl", v)
}

// kpis are the figures of the header: time, cost, files, and the outage.
func kpis(j *journal.Journal) []kpi {
	cost := kpi{Label: "Cost", Value: fmtUSD(j.Cost.TotalUSD), Sub: fmt.Sprintf("peak %s/h", fmtUSD(j.Cost.PeakPerHour))}
	if note := costNote(j.Cost); note != "" {
		cost.Sub = note + " · " + cost.Sub
	}
	out := []kpi{{Label: "Total time", Value: fmtSecs(j.Seconds), Sub: plural.Count(len(j.Steps), "step") + " · " + plural.Count(len(j.Phases), "phase")}, cost}
	if v := j.Validation; v != nil {
		k := kpi{Label: "Files intact", Value: validationText(v), Sub: "MD5 verified by " + v.Step, Class: "pass"}
		if !v.Success {
			k.Class, k.Sub = "fail", validationProblem(v)
		}
		out = append(out, k)
	}
	if s := j.Standby; s != nil {
		out = append(out, kpi{Label: "MTTR", Value: fmtSecs(s.MTTRSeconds), Sub: "detected in " + fmtSecs(s.DetectionSeconds)})
		risk := kpi{Label: "Data at risk", Value: fmtSecs(s.DataAtRiskSeconds), Sub: plural.Of(s.LostFiles, "file lost", "files lost")}
		if s.LostFiles > 0 {
			risk.Class = "fail"
		}
		out = append(out, risk)
	} else {
		for _, p := range j.Phases {
			if p.Name == "failover" {
				out = append(out, kpi{Label: "Failover", Value: fmtSecs(p.Seconds), Sub: "new GPU + restore"})
			}
		}
	}
	if n := failedUndos(j) + len(leaked(j)); n > 0 {
		out = append(out, kpi{Label: "Cleanup", Value: fmt.Sprintf("%d/%d", len(j.Cleanup)-failedUndos(j), len(j.Cleanup)), Sub: "see cleanup", Class: "fail"})
	}
	return out
}

// prettyJSON is indented JSON for the step details, "" for nothing.
func prettyJSON(v any) string {
	if v == nil {
		return ""
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func keyValues(m map[string]any) []keyValue {
	var out []keyValue
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, keyValue{k, compactJSON(m[k])})
	}
	return out
}

// clock is a moment of the run as the reports print it.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("15:04:05")
}
