package report

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
)

// Options tune the console and the closing report.
type Options struct {
	Color   bool // ANSI colours (the CLI decides with ColorEnabled)
	Quiet   bool // only failures, warnings and the verdict
	Verbose bool // also each step's parameters and outputs
	// Interactive: the output is a terminal, so the running step gets a
	// spinner and transfers a bar, redrawn in place. Otherwise every line
	// is final and progress is printed sparsely.
	Interactive bool
	// Width is the terminal's width in columns (TerminalWidth), for a
	// console that writes to it through another writer (a masking one).
	// 0: the width of w when it is the terminal, else $COLUMNS, else 80.
	Width int
}

// Console is the live view of a run, an event.Sink. Every step ends in one
// line "[k/n] id  name ... ok 1.2s"; a failed step adds its error and the
// values of its failed expectations; log lines, waits and transfers are
// indented under the step they belong to. When the run finishes the
// console writes the closing report (WriteSummary).
//
// A wait's text gets its elapsed time appended, inside its last
// parentheses when it ends with one: "waiting for SSH on instance 42
// (loading)" shows as "... (loading, 35s)". Methods are safe for
// concurrent use.
type Console struct {
	mu    sync.Mutex
	w     io.Writer
	opts  Options
	p     palette
	now   func() time.Time
	every time.Duration // plain output: at most one progress line per wait or transfer this often
	tick  time.Duration // interactive: redraw period of the spinner
	width int

	total int
	cur   *running
	xfers []*xfer
	drawn int // lines of the live area on screen (interactive)
	frame int
	stop  chan struct{}
	done  chan struct{}
}

// running is the step in progress.
type running struct {
	step        journal.Step
	start       time.Time
	header      bool // plain: its "[k/n] id  name ..." line is out
	wait        string
	waitShown   bool
	waitPrinted time.Duration
}

// xfer is a transfer in progress.
type xfer struct {
	step, what  string
	done, total int64
	since       time.Time // rate base
	base        int64     // bytes already moved at since
	lastPrint   time.Time
}

var _ event.Sink = (*Console)(nil)

// NewConsole writes a run's progress to w.
func NewConsole(w io.Writer, opts Options) *Console {
	c := &Console{w: w, opts: opts, p: palette{opts.Color}, now: time.Now,
		every: 15 * time.Second, tick: 120 * time.Millisecond, width: 80}
	f, isFile := w.(*os.File)
	switch {
	case opts.Width > 0:
		c.width = opts.Width
	case isFile && opts.Interactive:
		if n := TerminalWidth(f); n > 0 {
			c.width = n
		}
	default:
		if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 20 {
			c.width = n
		}
	}
	return c
}

// Close stops the spinner if a run never finished (RunFinished stops it too).
func (c *Console) Close() error {
	c.mu.Lock()
	stop, done := c.stop, c.done
	c.stop = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLive()
	return nil
}

func (c *Console) live() bool { return c.opts.Interactive && !c.opts.Quiet }

// RunStarted prints the run's header line and starts the spinner.
func (c *Console) RunStarted(j *journal.Journal, steps int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total, c.cur, c.xfers = steps, nil, nil
	if !c.opts.Quiet {
		c.println(fmt.Sprintf("%s %s %s", c.p.bold("scn"), c.p.bold(j.Scenario),
			c.p.dim(fmt.Sprintf("· %s · target %s (%s) · run %s", plural.Count(steps, "step"), j.Target, j.TargetKind, j.RunID))))
	}
	if c.live() && c.stop == nil {
		c.stop, c.done = make(chan struct{}), make(chan struct{})
		go c.spin(c.stop, c.done)
	}
}

// StepStarted makes s the running step.
func (c *Console) StepStarted(s *journal.Step) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = &running{step: *s, start: c.now()}
	c.redraw()
}

// StepFinished prints the step's result line and, when it failed, why.
func (c *Console) StepFinished(s *journal.Step) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushTransfers(s.ID)
	if c.cur != nil && c.cur.step.ID == s.ID {
		c.cur = nil
	}
	failed := s.Status == journal.StepFailed || s.Status == journal.StepCanceled
	if c.opts.Quiet && !failed {
		c.redraw()
		return
	}
	lines := []string{c.stepHead(s) + " ... " + c.outcome(s)}
	if !c.opts.Quiet {
		for _, e := range s.Expectations {
			if e.OK {
				lines = append(lines, "      "+c.p.green("✓")+" "+passedLine(e))
			}
		}
	}
	if failed {
		for _, l := range stepErrorLines(s) {
			lines = append(lines, "      "+c.p.red(l))
		}
	}
	if c.opts.Verbose {
		if len(s.With) > 0 {
			lines = append(lines, "      "+c.p.dim("with: ")+compactJSON(s.With))
		}
		if s.Outputs != nil {
			lines = append(lines, "      "+c.p.dim("outputs: ")+compactJSON(s.Outputs))
		}
	}
	c.println(lines...)
}

// stepHead is "[k/n] id  name".
func (c *Console) stepHead(s *journal.Step) string {
	n := max(c.total, s.Index)
	head := fmt.Sprintf("[%*d/%d] %s", len(strconv.Itoa(n)), s.Index, n, c.p.bold(s.ID))
	if s.Name != "" && s.Name != s.ID {
		head += "  " + s.Name
	}
	return head
}

// outcome is "ok 1.2s", "FAIL 0.9s", "skipped (reason)"...
func (c *Console) outcome(s *journal.Step) string {
	secs := c.p.dim(fmtSecs(s.Seconds))
	switch {
	case s.Status == journal.StepPassed:
		return c.p.green("ok") + " " + secs
	case s.Status == journal.StepSkipped:
		if s.SkipReason == "" {
			return c.p.yellow("skipped")
		}
		return c.p.yellow("skipped") + " " + c.p.dim("("+s.SkipReason+")")
	case s.Status == journal.StepCanceled:
		return c.p.red("canceled") + " " + secs
	case s.ContinueOnError:
		return c.p.yellow("failed, continuing (continue_on_error)") + " " + secs
	}
	return c.p.red("FAIL") + " " + secs
}

// Log prints a line of a step under it.
func (c *Console) Log(step, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.opts.Quiet {
		c.sub(step, line)
	}
}

// Wait updates the spinner, or prints the wait now and then when piped.
func (c *Console) Wait(step, what string, elapsed time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.Quiet {
		return
	}
	text := waitText(what, elapsed)
	r := c.cur
	if r == nil || r.step.ID != step {
		// A wait of a background step has no spinner: show it sparsely.
		c.sub(step, text)
		return
	}
	r.wait = text
	if c.opts.Interactive {
		c.redraw()
		return
	}
	if !r.waitShown || elapsed-r.waitPrinted >= c.every {
		r.waitShown, r.waitPrinted = true, elapsed
		c.sub(step, text)
	}
}

// waitText appends the elapsed time to what, inside its closing parenthesis.
func waitText(what string, elapsed time.Duration) string {
	e := fmt.Sprintf("%ds", int(elapsed.Seconds()))
	if strings.HasSuffix(what, ")") {
		return strings.TrimSuffix(what, ")") + ", " + e + ")"
	}
	return what + " (" + e + ")"
}

// Warn prints a warning, also in quiet mode.
func (c *Console) Warn(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.println(c.p.yellow("warning: ") + msg)
}

// CleanupStarted announces the undo stack.
func (c *Console) CleanupStarted(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = nil
	if !c.opts.Quiet && n > 0 {
		c.println(c.p.bold("cleanup") + c.p.dim(fmt.Sprintf(" · %s", plural.Of(n, "undo", "undos"))))
	}
}

// UndoFinished prints one cleanup action's result.
func (c *Console) UndoFinished(u *journal.Undo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.Quiet && u.Status != "failed" {
		return
	}
	mark := map[string]string{"done": "✓", "failed": "✗", "kept": "─"}[u.Status]
	line := fmt.Sprintf("  %s %s %s", c.p.status(mark), u.Description, c.p.dim(fmtSecs(u.Seconds)))
	if u.Status == "kept" {
		line += " " + c.p.dim("(kept)")
	}
	lines := []string{line}
	if u.Error != "" {
		lines = append(lines, "      "+c.p.red(u.Error))
	}
	c.println(lines...)
}

// RunFinished stops the spinner and writes the closing report.
func (c *Console) RunFinished(j *journal.Journal) {
	c.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur, c.xfers = nil, nil
	if !c.opts.Quiet {
		io.WriteString(c.w, "\n")
	}
	WriteSummary(c.w, j, c.opts)
}

// sub prints a line indented under its step: under the running step it
// first makes sure the step's header line is out; a line of
// another step (a background standby sync) names it.
func (c *Console) sub(step, text string) {
	var lines []string
	r := c.cur
	switch {
	case r != nil && r.step.ID == step:
		if !r.header {
			r.header = true
			lines = append(lines, c.stepHead(&r.step)+" ...")
		}
		lines = append(lines, "      "+text)
	default:
		lines = append(lines, "      "+c.p.dim("["+step+"]")+" "+text)
	}
	c.println(lines...)
}

// println writes final lines above the live area and redraws it.
func (c *Console) println(lines ...string) {
	c.clearLive()
	for _, l := range lines {
		io.WriteString(c.w, l+"\n")
	}
	c.redraw()
}
