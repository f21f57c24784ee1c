package snapshot

import (
	"fmt"
	"os"
	"testing"

	"github.com/scnlabs/scn/internal/testbin"
)

// TestMain puts the tests' temporary trees on tmpfs when there is one:
// they write and extract hundreds of MiB, and a slow disk's writeback would
// dominate the run time without testing anything more.
func TestMain(m *testing.M) {
	serveS3IfChild() // BenchmarkSnapshotMemory's S3 server is this binary
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "scn-snapshot-test-"); err == nil {
			os.Setenv("TMPDIR", dir)
			code := m.Run()
			testbin.Cleanup()
			os.RemoveAll(dir)
			os.Exit(code)
		} else {
			fmt.Fprintln(os.Stderr, "snapshot tests: /dev/shm not usable, using the default temp dir:", err)
		}
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}
