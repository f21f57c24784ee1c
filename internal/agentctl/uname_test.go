package agentctl

import (
	"errors"
	"testing"
)

func TestParseUname(t *testing.T) {
	for out, want := range map[string]string{
		"Linux\nx86_64\n":  "linux/amd64",
		"Linux\naarch64\n": "linux/arm64",
		"Darwin\narm64\n":  "darwin/arm64",
		"Linux\nmips\n":    "linux/mips",
	} {
		if got, err := parseUname(out); err != nil || got != want {
			t.Errorf("parseUname(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
	if _, err := parseUname("sh: uname: not found\n"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("garbage from uname = %v; want ErrUnavailable", err)
	}
}
