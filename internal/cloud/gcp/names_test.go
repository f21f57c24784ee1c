package gcp

import (
	"regexp"
	"strings"
	"testing"
)

var gceName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

func TestVMNameIsAValidUniqueGCEName(t *testing.T) {
	for _, label := range []string{
		"scn-20261104-ab12-standby", "", "123-run", "Ünïcode Step!", "--", strings.Repeat("very-long-label-", 10),
		"scn-run.with_dots_and_UPPER",
	} {
		a, b := vmName(label), vmName(label)
		if !gceName.MatchString(a) || len(a) > 63 {
			t.Errorf("vmName(%q) = %q: not a Compute Engine name", label, a)
		}
		if a == b {
			t.Errorf("vmName(%q) gave %q twice", label, a)
		}
	}
	if got := vmName("scn-Run.1-Step"); !strings.HasPrefix(got, "scn-run-1-step-") {
		t.Errorf("vmName keeps the label readable: got %q", got)
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"scn-run_1":             "scn-run_1",
		"Run.42":                "run-42",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
		"":                      "",
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"https://compute.example/compute/v1/":   "https://compute.example/compute/v1/",
		"https://compute.example/compute/v1":    "https://compute.example/compute/v1/",
		"https://compute.example":               "https://compute.example/compute/v1/",
		"http://127.0.0.1:8080/":                "http://127.0.0.1:8080/compute/v1/",
		" https://compute.example/compute/v1/ ": "https://compute.example/compute/v1/",
	} {
		if got, err := normalizeEndpoint(in); err != nil || got != want {
			t.Errorf("normalizeEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"compute.example", "ftp://x/", "https://"} {
		if _, err := normalizeEndpoint(bad); err == nil {
			t.Errorf("normalizeEndpoint(%q) accepted", bad)
		}
	}
}

func TestHourlyPrice(t *testing.T) {
	spot, ok1 := hourlyPrice("e2-medium", true)
	onDemand, ok2 := hourlyPrice("e2-medium", false)
	if !ok1 || !ok2 || spot < 0.01 || spot > 0.0102 || onDemand < 0.0335 || onDemand > 0.0336 {
		t.Errorf("e2-medium: Spot %v, on demand %v; want ≈ 0.0101 and 0.0335", spot, onDemand)
	}
	if _, ok := hourlyPrice("a2-highgpu-1g", true); ok {
		t.Error("a machine type outside the catalogue has a price")
	}
}
