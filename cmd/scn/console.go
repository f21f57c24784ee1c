package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/secret"
)

// session is what one scn command shares: the masker every output goes
// through, and the console built on it.
type session struct {
	mask    *secret.Masker
	out     *secret.Writer // masked stdout (or stderr for scn do)
	console *report.Console
}

// newSession builds the console on f (stdout for run, stderr for do),
// masking secrets in everything it prints.
func newSession(g *globals, f *os.File) *session {
	s := &session{mask: secret.New()}
	s.out = s.mask.Writer(f)
	s.console = report.NewConsole(s.out, consoleOptions(g, f))
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

// close flushes the console and the masking writer.
func (s *session) close() {
	_ = s.console.Close()
	_ = s.out.Close()
}

// writer returns a masked writer onto w, for reports written to files.
func (s *session) writer(w io.Writer) *secret.Writer { return s.mask.Writer(w) }
