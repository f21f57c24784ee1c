//go:build unix

package sshpool

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has this pid on this machine
// (signal 0 checks existence without sending anything).
func processGone(pid int) bool {
	return pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
