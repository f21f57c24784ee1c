//go:build unix

package ledger

import (
	"os"
	"syscall"
)

// lockFile takes a flock(2) on f, waiting for it; exclusive for writers,
// shared for readers.
func lockFile(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	return flock(f, how)
}

func unlockFile(f *os.File) { _ = flock(f, syscall.LOCK_UN) }

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		for {
			opErr = syscall.Flock(int(fd), how)
			if opErr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return opErr
}
