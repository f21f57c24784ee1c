package snapshot

import (
	"fmt"
	"regexp"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidateName accepts snapshot names that are safe as one path segment in
// every store: 1–128 of [A-Za-z0-9._-], starting with a letter or digit.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid snapshot name %q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

func dataKey(name string) string     { return "snapshots/" + name + "/data.tar.lz4" }
func manifestKey(name string) string { return "snapshots/" + name + "/manifest.json" }

// ManifestKey is the store key of snapshot name's manifest.
func ManifestKey(name string) string { return manifestKey(name) }
