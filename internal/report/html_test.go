package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

func renderHTML(t *testing.T, j *journal.Journal) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, j); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHTMLInBrowser opens each drill's report in headless Chromium.
func TestHTMLInBrowser(t *testing.T) {
	b := browser(t)
	for _, d := range drills() {
		t.Run(d.name, func(t *testing.T) {
			html := renderHTML(t, d.j)
			p := open(t, b, d.name+".html", html, 1280, 900, false)
			p.checkClean(t)
			p.checkNoOverflow(t, true)

			ids := eval[[]string](t, p, `[...document.querySelectorAll(".step-bar")].map(e => e.dataset.step)`)
			if len(ids) != len(d.j.Steps) {
				t.Errorf("timeline has %d .step-bar, want one per step (%d)", len(ids), len(d.j.Steps))
			}
			for i := range min(len(ids), len(d.j.Steps)) {
				if ids[i] != d.j.Steps[i].ID {
					t.Errorf("bar %d is for step %q, want %q", i, ids[i], d.j.Steps[i].ID)
				}
			}
			if n := eval[int](t, p, `document.querySelectorAll(".undo-bar").length`); n != len(d.j.Cleanup) {
				t.Errorf("timeline has %d cleanup bars, want %d", n, len(d.j.Cleanup))
			}
			// Every bar is visible: it has a width and lies inside its track.
			bad := eval[[]string](t, p, `[...document.querySelectorAll(".step-bar, .undo-bar")].filter(e => {
				const r = e.getBoundingClientRect(), tr = e.parentElement.getBoundingClientRect();
				return r.width < 2 || r.left < tr.left - 0.5 || r.right > tr.right + 0.5;
			}).map(e => e.dataset.step || e.className)`)
			if len(bad) > 0 {
				t.Errorf("bars not drawn inside their track: %v", bad)
			}
			verdictText := eval[string](t, p, `document.querySelector(".verdict").textContent`)
			if verdictText != Verdict(d.j) {
				t.Errorf("verdict shows %q, want %q", verdictText, Verdict(d.j))
			}
			p.screenshot(t, d.name+".png", true)
			if d.name == "failing" {
				p.screenshot(t, "failing-top.png", false)
				checkFailingReport(t, p)
				narrow := open(t, b, "narrow.html", html, 400, 900, false)
				narrow.checkNoOverflow(t, false)
				narrow.screenshot(t, "failing-narrow.png", false)
				dark := open(t, b, "dark.html", html, 1280, 900, true)
				dark.checkClean(t)
				dark.screenshot(t, "failing-dark.png", false)
			}
		})
	}
}

// checkFailingReport: the failure is spelled out where a person looks.
func checkFailingReport(t *testing.T, p *page) {
	t.Helper()
	alert := eval[string](t, p, `document.querySelector("#failure").innerText`)
	for _, want := range []string{"[8] verify: Verify every MD5", "2 of 3 files did not come back intact", "valid == total", "valid", "1", "total", "3"} {
		if !strings.Contains(alert, want) {
			t.Errorf("the failure box lacks %q:\n%s", want, alert)
		}
	}
	files := eval[string](t, p, `document.querySelector("#validation").innerText`)
	for _, want := range []string{"MD5 mismatch", "File missing", "/workspace/test-file-2.txt", "d9827eaca545bea431dc1fd0b81f4fc3"} {
		if !strings.Contains(files, want) {
			t.Errorf("the validation table lacks %q:\n%s", want, files)
		}
	}
	if open := eval[bool](t, p, `document.querySelector("#step-verify").open`); !open {
		t.Error("the failed step's details should be open")
	}
	if n := eval[int](t, p, `document.querySelectorAll(".step-bar.failed").length`); n != 2 {
		t.Errorf("want 2 red bars (verify, and notify which continued), got %d", n)
	}
	if n := eval[int](t, p, `document.querySelectorAll(".step-bar.skipped").length`); n != 2 {
		t.Errorf("want 2 skipped bars, got %d", n)
	}
	if n := eval[int](t, p, `document.querySelectorAll(".undo-bar.failed").length`); n != 1 {
		t.Errorf("want 1 failed cleanup bar, got %d", n)
	}
	// Clicking a bar opens that step's details.
	if _, err := runJS(p, `document.querySelector('.step-bar[data-step="gpu"]').click()`); err != nil {
		t.Fatal(err)
	}
	if open := eval[bool](t, p, `document.querySelector("#step-gpu").open`); !open {
		t.Error("clicking the gpu bar did not open the gpu step's details")
	}
}

// Each step's details list its checks, passed ones with the values that
// made them hold.
func TestHTMLShowsPassedChecksWithValues(t *testing.T) {
	for _, d := range drills() {
		if d.name != "passing" {
			continue
		}
		html := string(renderHTML(t, d.j))
		for _, want := range []string{
			`✓ <code>steps.verify.valid == vars.file_count</code> <span class="muted mono evaluated">(3 == 3)</span>`,
			`<td class="mono">vars.file_count</td><td class="mono val">3</td>`,
		} {
			if !strings.Contains(html, want) {
				t.Errorf("the passing report lacks %s", want)
			}
		}
		return
	}
	t.Fatal("no passing drill among the fixtures")
}
