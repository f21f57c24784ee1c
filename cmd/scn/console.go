package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/secret"
)

// printer is what a command that prints without running a scenario
// shares (scn cleanup, scn report): the masker everything goes through and
// the masked output. Commands that run scenarios get both from their
// session.Session instead.
type printer struct {
	mask *secret.Masker
	out  *secret.Writer // masked stdout
}

// newPrinter masks what is printed on f.
func newPrinter(f *os.File) *printer {
	s := &printer{mask: secret.New()}
	s.out = s.mask.Writer(f)
	return s
}

// consoleOptions are the flags' settings for output to f: colour, and
// redrawing in place at the terminal's width, only when f is a terminal
// (the console writes to it through the masker, so it cannot tell).
func consoleOptions(g *globals, f *os.File) report.Options {
	o := report.Options{Color: !g.noColor && report.ColorEnabled(f), Quiet: g.quiet, Verbose: g.verbose}
	if isatty.IsTerminal(f.Fd()) {
		o.Interactive, o.Width = true, report.TerminalWidth(f)
	}
	return o
}

// close flushes the masking writer.
func (s *printer) close() {
	_ = s.out.Close()
}

// writer returns a masked writer onto w, for reports written to files.
func (s *printer) writer(w io.Writer) *secret.Writer { return s.mask.Writer(w) }
