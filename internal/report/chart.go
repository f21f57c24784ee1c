package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
)

// Trend charts are small inline SVGs drawn here rather than by a script:
// the history page needs no JavaScript to show them, and the test can
// count their points. Geometry is in viewBox units; the SVG scales to its
// box.
const (
	chartW, chartH                       = 480.0, 180.0
	padLeft, padRight, padTop, padBottom = 56.0, 14.0, 14.0, 30.0
)

// metric reads one figure of a run; ok is false when the run has none
// (no standby, so no MTTR).
type metric func(j *journal.Journal) (v float64, ok bool)

// xAt spreads runs evenly across the plot, in time order.
func xAt(i, n int) float64 {
	if n <= 1 {
		return padLeft + (chartW-padLeft-padRight)/2
	}
	return padLeft + float64(i)*(chartW-padLeft-padRight)/float64(n-1)
}

// lineChart draws one metric across runs: a polyline through the runs that
// have it and a point per such run, coloured by the run's verdict, with a
// tooltip. It returns "" when no run has the metric.
func lineChart(name, title string, runs []*journal.Journal, get metric, scale func(top float64) (float64, func(float64) string)) template.HTML {
	top := 0.0
	var have int
	for _, j := range runs {
		if v, ok := get(j); ok {
			top = math.Max(top, v)
			have++
		}
	}
	if have == 0 {
		return ""
	}
	top, format := scale(top)
	y := func(v float64) float64 { return padTop + (chartH-padTop-padBottom)*(1-v/top) }
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><figcaption>%s</figcaption>`, html.EscapeString(title))
	fmt.Fprintf(&b, `<svg class="trend" data-metric="%s" viewBox="0 0 %g %g" role="img" aria-label="%s">`, name, chartW, chartH, html.EscapeString(title))
	for _, g := range []float64{0, top / 2, top} {
		fmt.Fprintf(&b, `<line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/>`, padLeft, chartW-padRight, y(g), y(g))
		fmt.Fprintf(&b, `<text class="ylab" x="%g" y="%.1f">%s</text>`, padLeft-8, y(g)+4, html.EscapeString(format(g)))
	}
	xLabels(&b, runs)
	var pts, dots []string
	for i, j := range runs {
		v, ok := get(j)
		if !ok {
			continue
		}
		x, yy := xAt(i, len(runs)), y(v)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, yy))
		dots = append(dots, fmt.Sprintf(`<circle class="pt %s" cx="%.1f" cy="%.1f" r="4.5"><title>%s · %s · %s</title></circle>`,
			verdictClass(j), x, yy, html.EscapeString(j.RunID), j.StartedAt.UTC().Format("2006-01-02 15:04"), html.EscapeString(format(v))))
	}
	fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
	b.WriteString(strings.Join(dots, ""))
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// passFailChart is one bar per run, green or red, in time order.
func passFailChart(runs []*journal.Journal) template.HTML {
	var b strings.Builder
	passed := 0
	for _, j := range runs {
		if j.Status == journal.StatusPassed {
			passed++
		}
	}
	fmt.Fprintf(&b, `<figure class="chart"><figcaption>Pass / fail · %d of %d passed</figcaption>`, passed, len(runs))
	fmt.Fprintf(&b, `<svg class="trend passfail" data-metric="status" viewBox="0 0 %g %g" role="img" aria-label="pass or fail per run">`, chartW, chartH)
	slot := (chartW - padLeft - padRight) / float64(max(len(runs), 1))
	w := math.Max(2, math.Min(slot*0.7, 28))
	for i, j := range runs {
		x := padLeft + (float64(i)+0.5)*slot - w/2
		h, yy := chartH-padTop-padBottom, padTop
		if j.Status != journal.StatusPassed {
			h, yy = h/2, padTop+h/2 // a failure stands lower: the eye reads the dips
		}
		fmt.Fprintf(&b, `<rect class="pf %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="2"><title>%s · %s · %s</title></rect>`,
			verdictClass(j), x, yy, w, h, html.EscapeString(j.RunID), j.StartedAt.UTC().Format("2006-01-02 15:04"), j.Status)
	}
	fmt.Fprintf(&b, `<text class="ylab" x="%g" y="%.1f">pass</text><text class="ylab" x="%g" y="%.1f">fail</text>`,
		padLeft-6, padTop+12, padLeft-6, padTop+(chartH-padTop-padBottom)/2+12)
	xLabels(&b, runs)
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// xLabels writes the dates of the first and last run under the plot.
func xLabels(b *strings.Builder, runs []*journal.Journal) {
	if len(runs) == 0 {
		return
	}
	first, last := runs[0], runs[len(runs)-1]
	fmt.Fprintf(b, `<text class="xlab" x="%.1f" y="%g" text-anchor="start">%s</text>`, padLeft, chartH-9, first.StartedAt.UTC().Format("Jan 2 15:04"))
	if len(runs) > 1 {
		fmt.Fprintf(b, `<text class="xlab" x="%.1f" y="%g" text-anchor="end">%s</text>`, chartW-padRight, chartH-9, last.StartedAt.UTC().Format("Jan 2 15:04"))
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, for axis tops.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// timeScale picks the top of a time axis and one unit for all its labels:
// seconds up to two minutes, then minutes, then hours.
func timeScale(top float64) (float64, func(float64) string) {
	unit, name := 1.0, "s"
	switch {
	case top >= 2*3600:
		unit, name = 3600, "h"
	case top >= 120:
		unit, name = 60, "m"
	}
	return niceCeil(top/unit) * unit, func(v float64) string {
		if v == 0 {
			return "0"
		}
		return fmt.Sprintf("%g%s", math.Round(v/unit*10)/10, name)
	}
}

// usdScale is the top of a cost axis and its labels.
func usdScale(top float64) (float64, func(float64) string) {
	return niceCeil(top), func(f float64) string {
		switch {
		case f == 0:
			return "$0"
		case f < 0.1:
			return fmt.Sprintf("$%.3f", f)
		}
		return fmt.Sprintf("$%.2f", f)
	}
}
