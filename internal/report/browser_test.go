package report

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The HTML reports are checked in a real headless Chromium (Debian package
// "chromium"; CHROMIUM overrides the binary). Screenshots go to the test's
// artifact directory: run `go test -artifacts -outputdir DIR` to keep them
// (DIR/_artifacts/...); without -artifacts they land in a temporary
// directory that is removed.

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: the HTML report tests need a real browser (Debian: apt-get install chromium, or set CHROMIUM)")
	return ""
}

// shared is the one headless Chromium of the test binary: started by the
// first test that needs it, stopped by TestMain.
var shared struct {
	once sync.Once
	ctx  context.Context
	err  error
	stop func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.stop != nil {
		shared.stop()
	}
	os.Exit(code)
}

// browser returns the shared Chromium, isolated in a fresh profile, with
// the network features that phone home turned off.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	shared.once.Do(func() {
		profile, err := os.MkdirTemp("", "scn-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		// The browser lives as long as the test binary, at most 10 minutes.
		bound, cancelBound := context.WithTimeout(context.Background(), 10*time.Minute)
		alloc, cancelAlloc := chromedp.NewExecAllocator(bound,
			chromedp.ExecPath(path),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(profile),
			chromedp.WindowSize(1280, 900),
		)
		ctx, cancelBrowser := chromedp.NewContext(alloc)
		shared.ctx = ctx
		shared.stop = func() { cancelBrowser(); cancelAlloc(); cancelBound(); os.RemoveAll(profile) }
		began := time.Now()
		if err := chromedp.Do(ctx); err != nil {
			shared.err = err
			return
		}
		t.Logf("Chromium started in %s", time.Since(began).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatalf("starting Chromium: %v", shared.err)
	}
	return shared.ctx
}

// page is one report opened in its own tab, with what the page did.
type page struct {
	ctx      context.Context
	url      string
	mu       sync.Mutex
	problems []string // console errors, exceptions, browser log errors
	requests []string // every URL the page requested
}

// open writes html to a file and loads it in a new tab of b, recording
// console errors, exceptions and network requests from the first moment.
func open(t *testing.T, b context.Context, name string, html []byte, width, height int64, dark bool) *page {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, html, 0o644); err != nil {
		t.Fatal(err)
	}
	p := &page{url: "file://" + path}
	tab, cancel := chromedp.NewContext(b, chromedp.WithListener(p.listen))
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancelT)
	p.ctx = ctx
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(width, height),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		}),
		chromedp.Navigate(p.url),
	)
	if err != nil {
		t.Fatalf("loading %s in Chromium: %v", name, err)
	}
	return p
}

func (p *page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, ev.Request.URL)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.problems = append(p.problems, "exception: "+msg)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			p.problems = append(p.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			p.problems = append(p.problems, fmt.Sprintf("browser log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// checkClean fails the test on any console error or exception, and on any
// request other than the report file itself.
func (p *page) checkClean(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.problems {
		t.Errorf("the page reported: %s", pr)
	}
	saw := false
	for _, u := range p.requests {
		if u == p.url {
			saw = true
			continue
		}
		t.Errorf("the report fetched %s: it must be self-contained", u)
	}
	if !saw {
		t.Errorf("no request for the report itself was seen (requests: %v): the network listener is not working", p.requests)
	}
}

// eval runs a JavaScript expression in the page and decodes its value.
func eval[T any](t *testing.T, p *page, expr string) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// screenshot saves a PNG in the test's artifact directory: the whole page,
// or with full false what fits in the viewport (what a person sees first).
func (p *page) screenshot(t *testing.T, name string, full bool) {
	t.Helper()
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	start := time.Now()
	png, err := chromedp.Run(p.ctx, shot)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%s)", path, time.Since(start).Round(time.Millisecond))
}

// checkNoOverflow: nothing sticks out sideways, however long the ids and
// errors are. With wide, even the tables fit without their own scrollbar.
func (p *page) checkNoOverflow(t *testing.T, wide bool) {
	t.Helper()
	sel := ".card, .hero"
	if wide {
		sel += ", .scroll"
	}
	over := eval[[]string](t, p, `((sel) => {
		const w = document.documentElement.clientWidth, out = [];
		if (document.documentElement.scrollWidth > w) out.push("page scrollWidth " + document.documentElement.scrollWidth + " > " + w);
		for (const el of document.querySelectorAll(sel)) {
			if (el.scrollWidth > el.clientWidth + 1) out.push((el.id || el.className) + " overflows by " + (el.scrollWidth - el.clientWidth) + "px");
		}
		return out;
	})(`+fmt.Sprintf("%q", sel)+`)`)
	for _, o := range over {
		t.Errorf("overflow: %s", o)
	}
}

// runJS runs a statement for its effect.
func runJS(p *page, js string) (any, error) {
	return chromedp.Run(p.ctx, chromedp.Evaluate[any](js+"; null"))
}
