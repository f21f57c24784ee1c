package scenarios_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// bin/scn built once for the tests that run the real CLI, on first use (so
// `go test -run` of other tests does not pay for it); TestMain removes it.
var scnBin struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func scnBinary(t *testing.T) string {
	t.Helper()
	scnBin.once.Do(func() {
		scnBin.dir, scnBin.err = os.MkdirTemp("", "scn-bin-")
		if scnBin.err != nil {
			return
		}
		goCmd, err := exec.LookPath("go")
		if err != nil {
			goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		scnBin.path = filepath.Join(scnBin.dir, "scn")
		cmd := exec.Command(goCmd, "build", "-o", scnBin.path, "../cmd/scn")
		scnBin.out, scnBin.err = cmd.CombinedOutput()
	})
	if scnBin.err != nil {
		t.Fatalf("building bin/scn: %v\n%s", scnBin.err, scnBin.out)
	}
	return scnBin.path
}

// removeBinary deletes what scnBinary built.
func removeBinary() {
	if scnBin.dir != "" {
		os.RemoveAll(scnBin.dir)
	}
}
