package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/units"
)

// Transfer shows bytes moved so far: a redrawn bar on a terminal, a line
// every Console.every when piped, and a final line with the average rate
// when the transfer completes (or, total unknown, when its step ends).
func (c *Console) Transfer(step, what string, done, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.Quiet {
		return
	}
	now := c.now()
	x := c.findXfer(step, what)
	if x == nil {
		x = &xfer{step: step, what: what, since: now, base: done, lastPrint: now}
		if r := c.cur; r != nil && r.step.ID == step {
			// The step started the transfer: measure from its start.
			x.since, x.base = r.start, 0
		}
		c.xfers = append(c.xfers, x)
	}
	x.done, x.total = done, total
	switch {
	case total >= 0 && done >= total:
		c.finishXfer(x, now)
	case c.opts.Interactive:
		c.redraw()
	case now.Sub(x.lastPrint) >= c.every:
		x.lastPrint = now
		c.sub(step, c.xferText(x, now))
	}
}

func (c *Console) findXfer(step, what string) *xfer {
	for _, x := range c.xfers {
		if x.step == step && x.what == what {
			return x
		}
	}
	return nil
}

// finishXfer prints a transfer's final line and forgets it.
func (c *Console) finishXfer(x *xfer, now time.Time) {
	for i, y := range c.xfers {
		if y == x {
			c.xfers = append(c.xfers[:i], c.xfers[i+1:]...)
			break
		}
	}
	line := fmt.Sprintf("%s  %s", x.what, fmtBytes(x.done))
	if secs := now.Sub(x.since).Seconds(); secs > 0 {
		line += fmt.Sprintf(" in %s (%s)", fmtSecs(secs), fmtRate(units.MBPerSec(x.done-x.base, secs)))
	}
	c.sub(x.step, c.p.green("✓")+" "+line)
}

// flushTransfers ends the transfers of a finished step whose total was
// unknown (or that never reported completion).
func (c *Console) flushTransfers(step string) {
	now := c.now()
	for _, x := range append([]*xfer(nil), c.xfers...) {
		if x.step == step {
			c.finishXfer(x, now)
		}
	}
}

// xferText is "upload snap-1  90.6 MB / 201.3 MB  45%  28.2 MB/s" (bytes of
// the tar stream, throughput as internal/units defines it), or
// "sync  12.0 MB  1.5 MB/s" when the total is unknown.
func (c *Console) xferText(x *xfer, now time.Time) string {
	text := x.what + "  " + fmtBytes(x.done)
	if x.total > 0 {
		text += fmt.Sprintf(" / %s  %d%%", fmtBytes(x.total), 100*x.done/x.total)
	}
	if secs := now.Sub(x.since).Seconds(); secs > 0.2 {
		text += "  " + fmtRate(units.MBPerSec(x.done-x.base, secs))
	}
	return text
}

// bar is a 24-cell progress bar.
func bar(done, total int64) string {
	const cells = 24
	n := 0
	if total > 0 {
		n = int(min(done, total) * cells / total)
	}
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", cells-n) + "]"
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spin redraws the live area until stop closes, so the spinner and the
// elapsed time move between events.
func (c *Console) spin(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(c.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.mu.Lock()
			c.frame++
			c.redraw()
			c.mu.Unlock()
		}
	}
}

// liveLines are the lines redrawn in place on a terminal: the running step
// with a spinner and its elapsed time, its wait, the transfers in flight.
func (c *Console) liveLines() []string {
	now := c.now()
	var lines []string
	if r := c.cur; r != nil {
		head := c.stepHead(&r.step) + "  " + c.p.dim(fmtSecs(now.Sub(r.start).Seconds()))
		lines = append(lines, c.p.cyan(spinner[c.frame%len(spinner)])+" "+c.fit(head, 2))
		if r.wait != "" {
			lines = append(lines, "      "+c.fit(r.wait, 6))
		}
	}
	for _, x := range c.xfers {
		text := c.xferText(x, now)
		if x.total > 0 {
			text = bar(x.done, x.total) + " " + text
		}
		lines = append(lines, "      "+c.fit(text, 6))
	}
	return lines
}

// fit cuts s so that a line of it plus indent columns does not wrap: a
// wrapped line would break the in-place redraw.
func (c *Console) fit(s string, indent int) string {
	room := c.width - indent - 1
	if visibleLen(s) <= room || room < 4 {
		return s
	}
	plain := []rune(ansi.ReplaceAllString(s, ""))
	return string(plain[:room-1]) + "…"
}

// redraw replaces the live area with the current live lines.
func (c *Console) redraw() {
	if !c.live() {
		return
	}
	c.clearLive()
	lines := c.liveLines()
	if len(lines) > 0 {
		io.WriteString(c.w, strings.Join(lines, "\n"))
	}
	c.drawn = len(lines)
}

// clearLive erases the live area, leaving the cursor where it began.
func (c *Console) clearLive() {
	if c.drawn == 0 {
		return
	}
	io.WriteString(c.w, "\r\x1b[2K"+strings.Repeat("\x1b[1A\x1b[2K", c.drawn-1))
	c.drawn = 0
}
