package testbin

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// The binary records how it was built (go version -m): -race exactly when
// this test runs under -race.
func TestSCNIsBuiltLikeTheTest(t *testing.T) {
	bin, err := SCN()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := SCN(); again != bin {
		t.Errorf("second SCN() = %s, want the first build %s", again, bin)
	}
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	race := strings.Contains(string(out), "-race=true")
	if race != raceEnabled {
		t.Errorf("scn built with -race=%v, the test runs with -race=%v:\n%s", race, raceEnabled, out)
	}
}
