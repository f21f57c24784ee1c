package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// scnBinary builds cmd/scn (once) and returns its path.
func scnBinary(t *testing.T) string {
	t.Helper()
	bin, err := testbin.SCN()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// A paid run needs --yes when nobody is at a terminal to answer: scn says
// so, exits 2, and neither rents nor contacts anything.
func TestPaidRunWithoutYesNorTerminalIsRefused(t *testing.T) {
	t.Parallel()
	bin := scnBinary(t)
	fake := vasttest.New(t, vasttest.Options{APIKey: vastAPIKey, Offers: badDayOffers(), Credit: 25})
	b2 := s3test.StartServer(t, s3test.Options{})
	state, home := t.TempDir(), t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--state-dir", state, "--config", filepath.Join(state, "scn.yaml"),
		"run", scenario("realtime-sync.yaml"), "--target", "vast")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"VAST_API_KEY=" + vastAPIKey, "VAST_URL=" + fake.URL,
		"B2_ENDPOINT=" + b2.Endpoint, "B2_BUCKET=" + b2.Bucket, "B2_REGION=us-west-004",
		"B2_KEY_ID=" + s3test.AccessKeyID, "B2_APPLICATION_KEY=" + s3test.SecretAccessKey,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &stdout, &stderr // stdin is /dev/null: not a terminal
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("scn run --target vast without --yes: %v, want exit 2\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if msg := stderr.String(); !strings.Contains(msg, "--yes") || !strings.Contains(msg, "real money") {
		t.Errorf("the refusal does not say why or what to do:\n%s", msg)
	}

	for _, c := range fake.Calls() {
		// Searching offers (to price the plan) would be fair; nothing else is.
		if c.Method != http.MethodGet && (c.Method != http.MethodPost || c.Path != "/api/v0/bundles/") {
			t.Errorf("the refused run acted on the VAST account: %s %s", c.Method, c.Path)
		}
	}
	if created := fake.Created(); len(created) > 0 {
		t.Errorf("the refused run rented %v", created)
	}
	for _, r := range b2.Requests() {
		t.Errorf("the refused run called B2: %s %s", r.Method, r.Path)
	}
	led, err := ledger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	if recs, _, err := led.Records(); err != nil || len(recs) > 0 {
		t.Errorf("the refused run wrote to the ledger: %v %v", recs, err)
	}
	if runs, _ := os.ReadDir(filepath.Join(state, "runs")); len(runs) > 0 {
		t.Errorf("the refused run left run records: %v", runs)
	}
	assertNoSecrets(t, stdout.String()+stderr.String(), []string{vastAPIKey, s3test.SecretAccessKey, s3test.AccessKeyID}, state)
}
