//go:build linux || darwin || freebsd || netbsd || openbsd

package report

import (
	"os"

	"golang.org/x/sys/unix"
)

// TerminalWidth is the width in columns of the terminal behind f, 0 if
// unknown (f is not a terminal).
func TerminalWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
