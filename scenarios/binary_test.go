package scenarios_test

import (
	"testing"

	"github.com/scnlabs/scn/internal/testbin"
)

// scnBinary is bin/scn for the tests that run the real CLI, built on first
// use (so `go test -run` of other tests does not pay for it); TestMain
// removes it.
func scnBinary(t *testing.T) string {
	t.Helper()
	bin, err := testbin.SCN()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
