package gcptest

import (
	"fmt"
	"strings"
)

// parseFilter understands the label filters scn uses: "" (all),
// labels.KEY:* (has the label), labels.KEY=VALUE and labels.KEY:VALUE.
func parseFilter(f string) (func(map[string]string) bool, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return func(map[string]string) bool { return true }, nil
	}
	rest, ok := strings.CutPrefix(f, "labels.")
	if !ok {
		return nil, fmt.Errorf("unsupported filter %q", f)
	}
	i := strings.IndexAny(rest, ":=")
	if i <= 0 {
		return nil, fmt.Errorf("unsupported filter %q", f)
	}
	key, want := strings.TrimSpace(rest[:i]), strings.Trim(strings.TrimSpace(rest[i+1:]), `"`)
	return func(labels map[string]string) bool {
		got, ok := labels[key]
		return ok && (want == "*" || got == want)
	}, nil
}
