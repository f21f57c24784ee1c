package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/ptytest"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// On a terminal the live line of the running step is cut to the
// terminal's width (a wrapped line would break the redraw in place), even
// though the console writes through the masking writer, not to the
// terminal itself.
func TestConsoleFitsTheTerminalsWidth(t *testing.T) {
	t.Setenv("COLUMNS", "") // the terminal alone says how wide it is
	ptmx, tty := ptytest.Open(t, 123)
	long := strings.Repeat("x", 200)
	sc, err := runner.Load("wide.yaml", []byte("name: wide\nsteps:\n  - { id: "+long+", action: sleep, with: { duration: 10m } }\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := runner.Check(sc, builtin.Registry())
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.New(session.Options{Target: &target.Target{Name: "t", Kind: "local", StateDir: t.TempDir()},
		Out: tty, Console: consoleOptions(&globals{noColor: true}, tty), NoRunFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.RunOne(ctx, c)
		done <- err
	}()
	defer func() {
		cancel() // the sleep ends: the run is over
		if err := <-done; err != nil {
			t.Error(err)
		}
		s.Close()
	}()

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
