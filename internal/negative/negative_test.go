package negative_test

import (
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/negative"
	"github.com/scnlabs/scn/internal/session"
)

// Which kinds apply is decided from the steps' outputs alone, before
// anything runs; running them is scenarios/negative_test.go's.
func TestApplicableKinds(t *testing.T) {
	for file, want := range map[string]string{
		"../../scenarios/realtime-sync.yaml":             "corrupt-file delete-file truncate-snapshot",
		"../../scenarios/cpu-standby.yaml":               "corrupt-file delete-file stale-standby",
		"../../scenarios/examples/check-the-gpu.yaml":    "",
		"../../scenarios/examples/fails-on-purpose.yaml": "",
	} {
		c, err := session.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(negative.Applicable(c.Scenario()), " "); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	c, err := session.Load("../../scenarios/examples/check-the-gpu.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := negative.New("corrupt-file")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Applies(c.Scenario()); err == nil || !strings.Contains(err.Error(), "cannot apply to ../../scenarios/examples/check-the-gpu.yaml: no step restores data") {
		t.Errorf("inapplicable: %v", err)
	}
	if _, err := negative.New("flip-bits"); err == nil || !strings.Contains(err.Error(), "corrupt-file, delete-file, truncate-snapshot, stale-standby, or all") {
		t.Errorf("unknown kind: %v", err)
	}
}
