package report

import (
	"fmt"
	"html/template"
	"math"
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// timelineView is the Gantt chart of a run: one row and one bar per step,
// then one per cleanup action, over phase bands and time ticks. Positions
// are percentages of the run's duration, so the chart stretches to any
// width without overflowing.
type timelineView struct {
	Ticks []tick
	Bands []band
	Rows  []barRow
}

type tick struct {
	Style template.CSS
	Label string
	End   bool // near the right edge: the label ends at the tick
}

type band struct {
	Name  string
	Secs  string
	Style template.CSS
	Alt   bool
}

// barRow is one line of the chart.
type barRow struct {
	Index    string // "[3]" or "undo"
	ID       string
	Name     string
	Title    string // tooltip: the whole story of the bar
	Class    string // step-bar passed, undo-bar failed...
	Anchor   string
	Style    template.CSS
	Dur      string
	DurStyle template.CSS
	Undo     bool
}

// axis positions moments and durations on the run's time axis, in
// percent of the run.
type axis struct {
	start time.Time
	total float64
}

func (a axis) at(t time.Time) float64 {
	return clamp(100 * t.Sub(a.start).Seconds() / a.total)
}

func (a axis) span(secs float64) float64 { return clamp(100 * secs / a.total) }

func clamp(p float64) float64 { return math.Max(0, math.Min(100, p)) }

func buildTimeline(j *journal.Journal) timelineView {
	total := j.EndedAt.Sub(j.StartedAt).Seconds()
	if total <= 0 {
		total = math.Max(j.Seconds, 1)
	}
	a := axis{j.StartedAt, total}
	var v timelineView
	for _, secs := range tickSeconds(total) {
		v.Ticks = append(v.Ticks, tick{Style: css("left:%.3f%%", a.span(secs)), Label: fmtTick(secs), End: a.span(secs) > 94})
	}
	for i, p := range j.Phases {
		from, to, ok := phaseSpan(j, p)
		if !ok {
			continue
		}
		v.Bands = append(v.Bands, band{Name: p.Name, Secs: fmtSecs(p.Seconds), Alt: i%2 == 1,
			Style: css("left:%.3f%%;width:%.3f%%", a.at(from), a.at(to)-a.at(from))})
	}
	// A skipped step has no clock: it sits where the previous step ended.
	cursor := j.StartedAt
	for i := range j.Steps {
		s := &j.Steps[i]
		start, secs := s.StartedAt, s.Seconds
		if start.IsZero() {
			start, secs = cursor, 0
		} else {
			cursor = start.Add(time.Duration(secs * float64(time.Second)))
		}
		class := "step-bar " + s.Status
		if s.Status == journal.StepFailed && s.ContinueOnError {
			class += " continued"
		}
		title := fmt.Sprintf("%s — %s", stepLabel(s), stepOutcome(s))
		if !s.StartedAt.IsZero() {
			title += fmt.Sprintf(" (+%s → +%s)", fmtSecs(start.Sub(j.StartedAt).Seconds()), fmtSecs(cursor.Sub(j.StartedAt).Seconds()))
		}
		r := placeBar(a, barRow{Index: fmt.Sprintf("%d", s.Index), ID: s.ID, Name: s.Name,
			Title: title, Class: class, Anchor: "step-" + s.ID}, start, secs)
		if s.Status == journal.StepSkipped {
			r.Dur = "skipped"
		}
		v.Rows = append(v.Rows, r)
	}
	for _, u := range j.Cleanup {
		start := u.StartedAt
		if start.IsZero() {
			start = cursor
		}
		title := fmt.Sprintf("cleanup: %s — %s %s", u.Description, u.Status, fmtSecs(u.Seconds))
		if u.Error != "" {
			title += ": " + u.Error
		}
		v.Rows = append(v.Rows, placeBar(a, barRow{Index: "↩", ID: u.Step, Name: u.Description, Title: title,
			Class: "undo-bar " + u.Status, Anchor: "cleanup", Undo: true}, start, u.Seconds))
	}
	return v
}

// placeBar places a row's bar and its duration label: after the bar, or before
// it when the bar ends near the right edge.
func placeBar(a axis, r barRow, start time.Time, secs float64) barRow {
	left, width := a.at(start), a.span(secs)
	width = math.Min(width, 100-left)
	// min(): a bar too short to see still gets 3px, inside the track.
	r.Style = css("left:min(%.3f%%, calc(100%% - 3px));width:%.3f%%", left, width)
	r.Dur = fmtSecs(secs)
	if left+width > 82 {
		r.DurStyle = css("right:calc(%.3f%% + 6px)", 100-left)
	} else {
		r.DurStyle = css("left:calc(%.3f%% + 6px)", left+width)
	}
	return r
}

// phaseSpan is from the first start to the last end of a phase's steps.
func phaseSpan(j *journal.Journal, p journal.Phase) (from, to time.Time, ok bool) {
	for _, id := range p.Steps {
		for _, s := range j.Steps {
			if s.ID != id || s.StartedAt.IsZero() {
				continue
			}
			if !ok || s.StartedAt.Before(from) {
				from = s.StartedAt
			}
			if !ok || s.EndedAt.After(to) {
				to = s.EndedAt
			}
			ok = true
		}
	}
	return from, to, ok
}

// tickSeconds are 4 to 10 round marks across a run of total seconds.
func tickSeconds(total float64) []float64 {
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200} {
		step = s
		if total/s <= 8 {
			break
		}
	}
	var out []float64
	for t := 0.0; t <= total; t += step {
		out = append(out, t)
	}
	return out
}

// fmtTick is an axis label: "0", "30s", "1m", "1m30s".
func fmtTick(s float64) string {
	switch {
	case s == 0:
		return "0"
	case s < 60:
		return fmt.Sprintf("%.0fs", s)
	case math.Mod(s, 60) == 0:
		return fmt.Sprintf("%.0fm", s/60)
	}
	return fmt.Sprintf("%dm%02.0fs", int(s)/60, math.Mod(s, 60))
}

// stepOutcome is a step's status in words with its duration.
func stepOutcome(s *journal.Step) string {
	switch {
	case s.Status == journal.StepSkipped && s.SkipReason != "":
		return "skipped: " + s.SkipReason
	case s.Status == journal.StepSkipped:
		return "skipped"
	case s.Status == journal.StepFailed && s.ContinueOnError:
		return "failed (continue_on_error) after " + fmtSecs(s.Seconds)
	}
	return s.Status + " in " + fmtSecs(s.Seconds)
}

// css builds a style attribute value from numbers only: safe to trust.
func css(format string, args ...any) template.CSS {
	return template.CSS(fmt.Sprintf(format, args...))
}
