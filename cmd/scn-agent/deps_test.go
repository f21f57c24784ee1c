package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The agent runs on rented machines and holds no keys: it must link no
// cloud SDK (nor their transports), which would also make it large.
func TestLinksNoCloudSDK(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH: this test lists the agent's dependencies with it")
	}
	out, err := exec.Command(goCmd, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps gave %d packages: not a dependency list", len(deps))
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/aws/", "google.golang.org/api", "google.golang.org/grpc", "cloud.google.com/"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("the agent links %s", d)
			}
		}
	}
}
