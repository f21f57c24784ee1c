package vast

import (
	"testing"
	"time"
)

// The rent is bounded only by the HTTP client's timeout; the official
// client waits 120 s, and so must scn's default.
func TestDefaultHTTPTimeoutIsTheCLIs(t *testing.T) {
	p, err := New(Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.cfg.HTTPClient.Timeout; got < 120*time.Second {
		t.Errorf("default HTTP timeout %v, want at least 120s", got)
	}
}
