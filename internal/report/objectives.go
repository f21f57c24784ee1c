package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
)

// Recovery objectives in every report: a section of the closing report and
// of the HTML report, one JUnit testcase each (named objective:<name>,
// which no step id can be: ids are identifiers), and in the history a
// met/missed chart per scenario next to the trends.

// objectiveMark is how each status is shown in text.
var objectiveMark = map[string]string{journal.ObjectiveMet: "✓", journal.ObjectiveMissed: "✗", journal.ObjectiveUnknown: "?"}

// failedObjective is the objective that failed a run (its line is the
// run's error), or nil when the run failed, or passed, for another reason.
func failedObjective(j *journal.Journal) *journal.Objective {
	for i, o := range j.Objectives {
		if o.Status != journal.ObjectiveMet && j.Error == o.Line() {
			return &j.Objectives[i]
		}
	}
	return nil
}

func writeObjectives(b *strings.Builder, p palette, j *journal.Journal) {
	if len(j.Objectives) == 0 {
		return
	}
	met := 0
	for _, o := range j.Objectives {
		if o.Status == journal.ObjectiveMet {
			met++
		}
	}
	section(b, p, fmt.Sprintf("Objectives (%d/%d met)", met, len(j.Objectives)))
	for _, o := range j.Objectives {
		mark := objectiveMark[o.Status]
		switch o.Status {
		case journal.ObjectiveMet:
			mark = p.green(mark)
		case journal.ObjectiveMissed:
			mark = p.red(mark)
		}
		fmt.Fprintf(b, "  %s %s\n", mark, strings.TrimPrefix(o.Line(), "objective "))
	}
}

// junitObjective is one objective as a testcase: a failure when missed, or
// when it could not be judged on a run that otherwise passed; skipped when
// the run failed before its figures existed.
func junitObjective(j *journal.Journal, o journal.Objective) junitCase {
	c := junitCase{Name: "objective:" + o.Name, Classname: j.Scenario, Time: junitTime(0)}
	line := o.Line()
	switch {
	case o.Status == journal.ObjectiveMissed || o.Status == journal.ObjectiveUnknown && j.Error == line:
		c.Failure = &junitOutcome{Message: line, Type: "objective", Body: xmlSafe(o.Expr + "\n" + line)}
	case o.Status == journal.ObjectiveUnknown:
		c.Skipped = &junitOutcome{Message: line}
	default:
		c.SystemOut = text(line + "\n")
	}
	return c
}

// objectiveView is one objective in the HTML report.
type objectiveView struct {
	journal.Objective
	Detail string
}

func objectiveViews(j *journal.Journal) []objectiveView {
	var out []objectiveView
	for _, o := range j.Objectives {
		_, detail, _ := strings.Cut(o.Line(), ": ")
		out = append(out, objectiveView{Objective: o, Detail: detail})
	}
	return out
}

// objectivesChart is one row per objective, one mark per run in time
// order: green met, red missed, amber unknown, nothing when the run did
// not declare it. "" when no run has objectives.
func objectivesChart(runs []*journal.Journal) template.HTML {
	var names []string
	seen := map[string]bool{}
	for _, j := range runs {
		for _, o := range j.Objectives {
			if !seen[o.Name] {
				seen[o.Name] = true
				names = append(names, o.Name)
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	class := map[string]string{journal.ObjectiveMet: "pass", journal.ObjectiveMissed: "fail", journal.ObjectiveUnknown: "warn"}
	row := math.Min(28, (chartH-padTop-padBottom)/float64(len(names)))
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><figcaption>Objectives · met or missed per run</figcaption>`)
	fmt.Fprintf(&b, `<svg class="trend objectives" data-metric="objectives" viewBox="0 0 %g %g" role="img" aria-label="objectives met or missed per run">`, chartW, chartH)
	slot := (chartW - padLeft - padRight) / float64(max(len(runs), 1))
	w := math.Max(2, math.Min(slot*0.7, 28))
	for k, name := range names {
		y := padTop + float64(k)*row
		// The label fits the left margin; the tooltip has the whole name.
		fmt.Fprintf(&b, `<text class="ylab" x="%g" y="%.1f">%s<title>%s</title></text>`, padLeft-6, y+row*0.6,
			html.EscapeString(ellipsis(name, 9)), html.EscapeString(name))
		for i, j := range runs {
			for _, o := range j.Objectives {
				if o.Name != name {
					continue
				}
				fmt.Fprintf(&b, `<rect class="pf obj %s" data-objective="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="2"><title>%s · %s · %s</title></rect>`,
					class[o.Status], html.EscapeString(name), padLeft+(float64(i)+0.5)*slot-w/2, y+2, w, row-4,
					html.EscapeString(j.RunID), j.StartedAt.UTC().Format("2006-01-02 15:04"), html.EscapeString(o.Line()))
			}
		}
	}
	xLabels(&b, runs)
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// objectivesCell is the history table's summary of a run's objectives:
// "rto ✓ rpo ✗".
func objectivesCell(j *journal.Journal) string {
	var parts []string
	for _, o := range j.Objectives {
		parts = append(parts, o.Name+" "+objectiveMark[o.Status])
	}
	return strings.Join(parts, " ")
}
