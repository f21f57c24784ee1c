//go:build unix

package sshpool

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockReleases takes the exclusive flock(2) of the lease directory dir
// that releases hold (see release), waiting for it. The kernel drops it
// with the process, so a crashed scn never leaves the pool locked.
func lockReleases(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, releaseLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	var lockErr error
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			for {
				if lockErr = syscall.Flock(int(fd), syscall.LOCK_EX); lockErr != syscall.EINTR {
					return
				}
			}
		})
	}
	if err == nil {
		err = lockErr
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing drops the lock
}
