package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/scnlabs/scn/internal/journal"
)

// On a terminal the live line of the running step is cut to the
// terminal's width (a wrapped line would break the redraw in place), even
// though the console writes through the masking writer, not to the
// terminal itself.
func TestConsoleFitsTheTerminalsWidth(t *testing.T) {
	t.Setenv("COLUMNS", "") // the terminal alone says how wide it is
	ptmx, tty := openPTY(t, 123)
	s := newSession(&globals{noColor: true}, tty)
	long := strings.Repeat("x", 200)
	s.console.RunStarted(&journal.Journal{Scenario: "wide", RunID: "r1"}, 1)
	s.console.StepStarted(&journal.Step{Index: 1, ID: long})
	s.close()

	if err := ptmx.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 64<<10)
	for !strings.Contains(string(out), "x\u2026") { // the cut live line, ending in an ellipsis
		n, err := ptmx.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			t.Fatalf("reading the terminal: %v\n%q", err, out)
		}
	}
	run := 0 // the longest run of the step id on one line
	for _, l := range strings.Split(string(out), "\n") {
		run = max(run, strings.Count(l, "x"))
	}
	if run <= 80 || run >= 123 {
		t.Errorf("the running step's line shows %d characters of its id on a 123-column terminal, want it cut to fit 123 columns:\n%q", run, out)
	}
}

// openPTY opens a pseudo-terminal cols columns wide: the master side to
// read what was written, the terminal side to write to.
func openPTY(t *testing.T, cols uint16) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the terminal side: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: cols}); err != nil {
		t.Fatalf("setting the terminal size: %v", err)
	}
	return ptmx, tty
}
