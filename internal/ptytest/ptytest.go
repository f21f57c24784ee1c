// Package ptytest opens real pseudo-terminals for the tests of what scn
// does on a terminal: colours, the terminal's width, redrawing in place.
// It uses creack/pty, which opens one the way each system wants (Linux's
// /dev/ptmx and /dev/pts/N, macOS's and the BSDs' ioctls), so these tests
// build and run wherever `make test` is said to.
package ptytest

import (
	"os"
	"testing"

	"github.com/creack/pty"
)

// Open opens a pseudo-terminal pair cols columns wide, both ends closed
// when the test ends: tty is the terminal a program writes to, ptmx the
// master side that reads what it wrote.
func Open(t testing.TB, cols uint16) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: cols}); err != nil {
		t.Fatalf("setting the terminal size: %v", err)
	}
	return ptmx, tty
}
