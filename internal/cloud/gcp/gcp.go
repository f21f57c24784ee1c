// Package gcp rents the CPU standby of a GPU failover drill: one small
// Compute Engine VM (e2-medium Spot by default) that keeps a live copy of the
// GPU's workspace. It implements cloud.Provider over
// google.golang.org/api/compute/v1, authenticating with a service-account
// JSON key (GOOGLE_APPLICATION_CREDENTIALS, its token_uri honoured) and
// talking to the endpoint gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE
// names when set — the Go client does not read that variable itself. Every
// VM carries labels (scn-run, scn-label) so `scn cleanup` can find what an
// interrupted run left; every insert and delete is waited on until Compute
// Engine reports its operation DONE, and Google's error messages and reasons
// are quoted as they come.
package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/httptransport"
	cloudbilling "google.golang.org/api/cloudbilling/v1"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/option"
)

// Defaults for Config fields left empty.
const (
	DefaultMachineType = "e2-medium"
	DefaultDiskGB      = 20
	DefaultImage       = "projects/debian-cloud/global/images/family/debian-12"
	DefaultUser        = "scn"
	DefaultPoll        = 2 * time.Second
)

// Workspace is where the standby keeps its copy: the same absolute path as on
// the GPU instances (/workspace on VAST), so a sync or a failover moves
// /workspace to /workspace with no path rewriting. The startup script
// creates it owned by the SSH user.
const Workspace = "/workspace"

// imageAliases are the image families scn supports by short name.
var imageAliases = map[string]string{
	"debian-12":       DefaultImage,
	"ubuntu-2204-lts": "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts",
}

// Config says where and what to rent. Zero values take the defaults above.
type Config struct {
	Project string // GCP_PROJECT_ID; defaults to the service account's project_id
	Zone    string // GCP_ZONE, e.g. us-central1-a
	// MachineType, e.g. e2-medium (default), e2-small, e2-standard-2.
	MachineType string
	// DiskGB is the boot disk size (default 20, at least 10).
	DiskGB int
	// ImageFamily is the boot image: debian-12 (default), ubuntu-2204-lts,
	// or a full "projects/…/global/images/…" path.
	ImageFamily string
	// OnDemand rents a standard VM instead of Spot. Spot is the default
	// (zero value): ~70% cheaper, and a standby is disposable by design.
	OnDemand bool
	// User is the SSH login created from the ssh-keys metadata (default scn).
	User string
	// CredentialsFile is a service-account JSON key
	// (GOOGLE_APPLICATION_CREDENTIALS). Empty means Application Default
	// Credentials (gcloud's, or the metadata server on GCE).
	CredentialsFile string
	// Endpoint overrides the API base, in gcloud's form
	// https://host/compute/v1/ (CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE);
	// a bare https://host gets /compute/v1/ appended.
	Endpoint string
	// BillingEndpoint overrides the Cloud Billing Catalog API's base
	// (https://cloudbilling.googleapis.com/), as gcloud's
	// CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING does. Prices are read
	// there with the same credentials (scope cloud-billing.readonly).
	BillingEndpoint string
	// HTTPClient's transport carries both the token exchange and the API
	// calls (proxies, test TLS roots); nil means the default.
	HTTPClient *http.Client
	// PollInterval paces operation waits and retries (default 2s).
	PollInterval time.Duration
	// Workspace is the absolute folder VMs report as their workspace (and
	// their startup script creates); the Workspace constant when empty.
	// Tests point it at a temporary folder served by their SSH servers.
	Workspace string
	// SSHPortOverride is a test hook: Compute Engine has no port field (sshd
	// listens on 22), but a test's SSH server does not. When set and it
	// returns > 0 for a VM name, that port is reported instead of 22.
	SSHPortOverride func(name string) int
	// OnRetry is a test hook: when set, it is told about every failed API
	// call that will be tried again and how long scn waits before that
	// try, just before the wait. Tests read the wait asked for instead of
	// timing it.
	OnRetry func(err error, wait time.Duration)
}

// ConfigFromEnv reads GOOGLE_APPLICATION_CREDENTIALS, GCP_PROJECT_ID,
// GCP_ZONE and CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE; everything else keeps
// its default (e2-medium Spot, Debian 12, 20 GB, user scn).
func ConfigFromEnv() Config {
	return Config{
		CredentialsFile: os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"),
		Project:         os.Getenv("GCP_PROJECT_ID"),
		Zone:            os.Getenv("GCP_ZONE"),
		Endpoint:        os.Getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"),
		BillingEndpoint: os.Getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING"),
	}
}

// Provider is a cloud.Provider renting Compute Engine VMs in one project and zone.
type Provider struct {
	cfg     Config
	image   string
	svc     *compute.Service
	billing *cloudbilling.APIService // the Cloud Billing Catalog: real prices
	prices  pricing
}

var (
	zonePattern    = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`)
	machinePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	userPattern    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

// New checks cfg, loads the credentials and builds the Compute Engine client.
// It makes no API call: bad credentials show up on the first one.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	cfg = withDefaults(cfg)
	image, err := resolveImage(cfg.ImageFamily)
	if err != nil {
		return nil, err
	}
	endpoint, err := normalizeEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	creds, err := loadCredentials(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Project == "" {
		cfg.Project, _ = creds.ProjectID(ctx)
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	var base http.RoundTripper
	if cfg.HTTPClient != nil {
		base = cfg.HTTPClient.Transport
	}
	hc, err := httptransport.NewClient(&httptransport.Options{Credentials: creds, BaseRoundTripper: base, DisableTelemetry: true})
	if err != nil {
		return nil, fmt.Errorf("gcp: build the authenticated HTTP client: %w", err)
	}
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	svc, err := compute.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcp: build the Compute Engine client: %w", err)
	}
	bopts := []option.ClientOption{option.WithHTTPClient(hc)}
	if cfg.BillingEndpoint != "" {
		bopts = append(bopts, option.WithEndpoint(cfg.BillingEndpoint))
	}
	billing, err := cloudbilling.NewService(ctx, bopts...)
	if err != nil {
		return nil, fmt.Errorf("gcp: build the Cloud Billing client: %w", err)
	}
	return &Provider{cfg: cfg, image: image, svc: svc, billing: billing}, nil
}

func withDefaults(cfg Config) Config {
	if cfg.MachineType == "" {
		cfg.MachineType = DefaultMachineType
	}
	if cfg.DiskGB == 0 {
		cfg.DiskGB = DefaultDiskGB
	}
	if cfg.ImageFamily == "" {
		cfg.ImageFamily = DefaultImage
	}
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPoll
	}
	if cfg.Workspace == "" {
		cfg.Workspace = Workspace
	}
	return cfg
}

func validate(cfg Config) error {
	switch {
	case cfg.Project == "":
		return fmt.Errorf("gcp: no project: set GCP_PROJECT_ID (or use a service-account key that names its project_id)")
	case cfg.Zone == "":
		return fmt.Errorf("gcp: no zone: set GCP_ZONE, e.g. us-central1-a")
	case !zonePattern.MatchString(cfg.Zone):
		return fmt.Errorf("gcp: zone %q is not a Compute Engine zone name (like us-central1-a)", cfg.Zone)
	case !machinePattern.MatchString(cfg.MachineType):
		return fmt.Errorf("gcp: machine type %q is not a machine type name (like e2-medium)", cfg.MachineType)
	case cfg.DiskGB < 10:
		return fmt.Errorf("gcp: boot disk of %d GB is too small: public images need at least 10 GB", cfg.DiskGB)
	case !userPattern.MatchString(cfg.User):
		return fmt.Errorf("gcp: SSH user %q is not a valid Linux user name", cfg.User)
	case !path.IsAbs(cfg.Workspace) || path.Clean(cfg.Workspace) == "/":
		return fmt.Errorf("gcp: workspace %q must be an absolute folder other than /", cfg.Workspace)
	}
	return nil
}

// resolveImage expands a short family name; full image paths pass through.
func resolveImage(image string) (string, error) {
	if full, ok := imageAliases[image]; ok {
		return full, nil
	}
	if strings.HasPrefix(image, "projects/") && strings.Contains(image, "/global/images/") ||
		strings.HasPrefix(image, "https://") {
		return image, nil
	}
	return "", fmt.Errorf("gcp: image %q: use debian-12, ubuntu-2204-lts or a full projects/…/global/images/… path", image)
}

// normalizeEndpoint turns an endpoint override into the client's base path.
// gcloud's override already ends in /compute/v1/; a bare host gets it added.
func normalizeEndpoint(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("gcp: Compute Engine endpoint %q (CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE) is not an http(s) URL", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/compute/v1/"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// loadCredentials reads the service-account key (refusing other credential
// types a GOOGLE_APPLICATION_CREDENTIALS file could hold) or falls back to
// Application Default Credentials. The token exchange goes to the key's
// token_uri through cfg.HTTPClient.
func loadCredentials(cfg Config) (*auth.Credentials, error) {
	opts := &credentials.DetectOptions{Scopes: []string{compute.ComputeScope, cloudbilling.CloudBillingReadonlyScope}, Client: cfg.HTTPClient}
	if cfg.CredentialsFile == "" {
		creds, err := credentials.DetectDefault(opts)
		if err != nil {
			return nil, fmt.Errorf("gcp: no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account JSON key (%v)", err)
		}
		return creds, nil
	}
	b, err := os.ReadFile(cfg.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("gcp: read credentials: %w", err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("gcp: credentials file %s is not JSON: %v", cfg.CredentialsFile, err)
	}
	if head.Type != string(credentials.ServiceAccount) {
		return nil, fmt.Errorf("gcp: credentials file %s holds %q credentials, want a service_account key", cfg.CredentialsFile, head.Type)
	}
	creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, b, opts)
	if err != nil {
		// The auth library's errors name fields, never key material.
		return nil, fmt.Errorf("gcp: load service-account key %s: %v", cfg.CredentialsFile, err)
	}
	return creds, nil
}

// Name is the provider's name in the ledger.
func (p *Provider) Name() string { return "gcp" }
