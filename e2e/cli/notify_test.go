package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// webhook is a local chat server: it answers every POST with code and
// keeps the notices.
type webhook struct {
	code    int
	mu      sync.Mutex
	notices []map[string]any
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &n); err != nil {
		n = map[string]any{"unparsable": string(b)}
	}
	h.mu.Lock()
	h.notices = append(h.notices, n)
	h.mu.Unlock()
	w.WriteHeader(h.code)
}

func (h *webhook) statuses() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, n := range h.notices {
		s, _ := n["status"].(string)
		out = append(out, s)
	}
	return out
}

// newWebhook serves h and returns its URL with a Slack-like token path.
func newWebhook(t *testing.T, h *webhook, token string) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/services/" + token
}

// `--notify` and SCN_NOTIFY reach every webhook once per scenario; a
// webhook that refuses is a warning naming its status, the exit code is
// the drills', and no output or run file shows a webhook URL.
func TestNotifyWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pass := e.write("pass.yaml", "name: pass\nsteps:\n  - action: log\n    with: { message: hello }\n")
	fail := e.write("fail.yaml", "name: fail\nsteps:\n  - id: sums\n    assert: 1 + 1 == 3\n")
	good, refusing := &webhook{code: http.StatusOK}, &webhook{code: http.StatusForbidden}
	goodURL := newWebhook(t, good, "T01/B01/goodtokenvalue")
	e.extra = append(e.extra, "SCN_NOTIFY= "+newWebhook(t, refusing, "T02/B02/badtokenvalue")+" ,")
	r := e.scn("run", pass, fail, "--notify", goodURL, "--out", filepath.Join(e.dir, "runs"))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the failing drill's)\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := good.statuses(); strings.Join(got, ",") != "passed,failed" {
		t.Fatalf("good webhook got statuses %v, want passed then failed", got)
	}
	n := good.notices[1]
	if n["scenario"] != "fail" || n["failed_step"] != "sums" || n["exit_code"] != 1.0 || !strings.Contains(n["text"].(string), "❌ scn fail failed on local") {
		t.Errorf("notice of the failed run: %v", n)
	}
	if len(refusing.notices) != 2 {
		t.Errorf("refusing webhook got %d notices, want 2 (403 is not retried)", len(refusing.notices))
	}
	out := r.stdout + r.stderr
	if strings.Count(out, "notify: webhook 2 (127.0.0.1) failed: HTTP 403 Forbidden") != 2 {
		t.Errorf("want one warning per notice the refusing webhook lost:\n%s", out)
	}
	for _, tok := range []string{"goodtokenvalue", "badtokenvalue"} {
		if strings.Contains(out, tok) {
			t.Errorf("output shows a webhook token %s:\n%s", tok, out)
		}
		filepath.WalkDir(filepath.Join(e.dir, "runs"), func(p string, d os.DirEntry, err error) error {
			if b, _ := os.ReadFile(p); err == nil && !d.IsDir() && strings.Contains(string(b), tok) {
				t.Errorf("%s shows a webhook token", p)
			}
			return nil
		})
	}

	// --notify-on failure: the passing drill is not announced.
	quiet := &webhook{code: http.StatusOK}
	e.extra = nil
	if r := e.scn("run", pass, fail, "--notify", newWebhook(t, quiet, "T03/B03/quiettoken"), "--notify-on", "failure"); r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := quiet.statuses(); strings.Join(got, ",") != "failed" {
		t.Errorf("--notify-on failure sent %v, want only the failed run", got)
	}

	// A URL that is not one is bad input, named without the URL.
	r = e.scn("run", pass, "--notify", "hooks.example/services/T04/secretpath")
	if r.code != 2 || !strings.Contains(r.stderr, "notify webhook 1 is not an http(s) URL") || strings.Contains(r.stdout+r.stderr, "secretpath") {
		t.Errorf("bad --notify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
