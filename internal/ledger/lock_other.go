//go:build !unix

package ledger

import (
	"errors"
	"os"
	"runtime"
)

// Without flock the ledger could interleave lines of concurrent processes;
// refuse rather than risk losing track of a rented machine.
func lockFile(*os.File, bool) error {
	return errors.New("file locking is not supported on " + runtime.GOOS)
}

func unlockFile(*os.File) {}
