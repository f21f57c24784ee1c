package snapshot

import (
	"os"

	"golang.org/x/sys/unix"
)

const oDirect = unix.O_DIRECT

// clearDirect turns O_DIRECT off on an open file: for a file's tail, and
// when the filesystem refuses a direct write.
func clearDirect(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		var fl int
		if fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0); ferr != nil {
			return
		}
		_, ferr = unix.FcntlInt(fd, unix.F_SETFL, fl&^unix.O_DIRECT)
	})
	if err != nil {
		return err
	}
	return ferr
}
