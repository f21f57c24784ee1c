package gcp_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
)

func TestConfigFromEnvHonoursEndpointOverride(t *testing.T) {
	fake := gcptest.New(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", fake.WriteCredentials(t))
	t.Setenv("GCP_PROJECT_ID", fake.Project)
	t.Setenv("GCP_ZONE", fake.Zone)
	t.Setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", fake.Endpoint())
	cfg := gcp.ConfigFromEnv()
	if cfg.Endpoint != fake.Endpoint() || cfg.Project != "scn-test" || cfg.Zone != "us-central1-a" || cfg.CredentialsFile == "" {
		t.Fatalf("ConfigFromEnv = %+v", cfg)
	}
	cfg.PollInterval = time.Millisecond
	ctx := t.Context()
	p, err := gcp.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Through the override, the fake answers: a real endpoint would not
	// know this VM.
	if _, err := p.Get(ctx, "scn-nothing-here"); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("Get via override: %v, want ErrNotFound from the fake", err)
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].Path != "/compute/v1/projects/scn-test/zones/us-central1-a/instances/scn-nothing-here" || !calls[0].Authed {
		t.Fatalf("fake saw %+v", calls)
	}

	// A bare host gets gcloud's /compute/v1/ path.
	cfg.Endpoint = fake.URL
	if p, err = gcp.New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx, "scn-nothing-here"); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("Get via bare-host override: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	fake := gcptest.New(t)
	good := fake.ProviderConfig(t)
	userCreds := t.TempDir() + "/adc.json"
	if err := os.WriteFile(userCreds, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"s3cr3t-value","refresh_token":"r"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	noProject := writeWithout(t, good.CredentialsFile, "project_id")
	for name, tc := range map[string]struct {
		adjust func(*gcp.Config)
		want   string
	}{
		"no zone":      {func(c *gcp.Config) { c.Zone = "" }, "GCP_ZONE"},
		"bad zone":     {func(c *gcp.Config) { c.Zone = "us-central1" }, "not a Compute Engine zone"},
		"bad endpoint": {func(c *gcp.Config) { c.Endpoint = "compute.example:443" }, "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"},
		"bad image":    {func(c *gcp.Config) { c.ImageFamily = "windows" }, "debian-12, ubuntu-2204-lts"},
		"small disk":   {func(c *gcp.Config) { c.DiskGB = 5 }, "at least 10 GB"},
		"bad user":     {func(c *gcp.Config) { c.User = "Root User" }, "not a valid Linux user"},
		"relative ws":  {func(c *gcp.Config) { c.Workspace = "workspace" }, "must be an absolute folder"},
		"root ws":      {func(c *gcp.Config) { c.Workspace = "/" }, "must be an absolute folder"},
		"missing file": {func(c *gcp.Config) { c.CredentialsFile += ".missing" }, "read credentials"},
		"user creds":   {func(c *gcp.Config) { c.CredentialsFile = userCreds }, `"authorized_user" credentials`},
		"bad machine":  {func(c *gcp.Config) { c.MachineType = "E2 Medium" }, "not a machine type"},
		"no project":   {func(c *gcp.Config) { c.Project = ""; c.CredentialsFile = noProject }, "GCP_PROJECT_ID"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			tc.adjust(&cfg)
			_, err := gcp.New(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
	// Without GCP_PROJECT_ID, the service account's project_id is used.
	cfg := good
	cfg.Project = ""
	p, err := gcp.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(t.Context(), "scn-none"); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("Get with the key's project: %v", err)
	}
}

// countingTransport counts requests by path on their way out.
type countingTransport struct {
	mu    sync.Mutex
	paths map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestHTTPClientCarriesTokenExchangeAndAPICalls(t *testing.T) {
	fake := gcptest.New(t)
	cfg := fake.ProviderConfig(t)
	ct := &countingTransport{paths: map[string]int{}}
	cfg.HTTPClient = &http.Client{Transport: ct}
	p, err := gcp.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(t.Context(), "scn-none"); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatal(err)
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.paths["/token"] != 1 || ct.paths["/compute/v1/projects/scn-test/zones/us-central1-a/instances/scn-none"] != 1 {
		t.Fatalf("requests through Config.HTTPClient: %v", ct.paths)
	}
}

// writeWithout copies a credentials JSON file without one field.
func writeWithout(t *testing.T, path, field string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, field)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir() + "/creds.json"
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}
