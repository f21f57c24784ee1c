package files

import (
	"errors"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions"
)

// Computed dir: and prefix: values are decoded before the step runs with
// the rule the action applies (checkDir, checkPrefix); literal ones the
// checker refuses the same way (runner/testdata/bad/literals.yaml).
func TestComputedDirAndPrefixRefusedWhenDecoded(t *testing.T) {
	for _, tc := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"on": "1", "dir": "relative/dir"}, `dir: "relative/dir" is not an absolute path on the machine`},
		{map[string]any{"on": "1", "prefix": "sub/x-"}, `prefix: "sub/x-" is not a plain file name start (no '/')`},
		{map[string]any{"on": "1", "prefix": ".."}, `prefix: ".." is not a plain file name start`},
	} {
		err := actions.Decode(&CreateParams{}, tc.with, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%v) = %v, want %q", tc.with, err, tc.want)
		}
		if de := (*actions.DecodeError)(nil); !errors.As(err, &de) || de.Hint == "" {
			t.Errorf("Decode(%v): no hint", tc.with)
		}
	}
	if err := actions.Decode(&VerifyParams{}, map[string]any{"on": "1", "from": "x.json", "dir": "data"}, false); err == nil ||
		!strings.Contains(err.Error(), `"data" is not an absolute path`) {
		t.Errorf("files.verify dir: data = %v", err)
	}
	p := &CreateParams{}
	if err := actions.Decode(p, map[string]any{"on": "1", "dir": "/data/x"}, false); err != nil || p.Dir != "/data/x" || p.Prefix != "test-file-" {
		t.Errorf("good dir: %v, %+v", err, p)
	}
}
