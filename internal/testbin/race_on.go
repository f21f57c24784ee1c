//go:build race

package testbin

// raceEnabled: this test binary was built with -race (as make test builds
// them), so the binaries it starts are too.
const raceEnabled = true
