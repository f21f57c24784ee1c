package session

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
)

// Runs going at once share one output. Each gets its own console writing
// through a prefixWriter, so its lines carry its scenario's name and the
// lines of different runs interleave but are never cut.

// prefixWriter writes whole lines, each starting with prefix, onto a writer
// that other runs share. All prefixWriters of one session share mu.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := slices.Index(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := io.WriteString(p.w, p.prefix+string(p.buf[:i+1])); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// Flush writes out an unfinished last line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		io.WriteString(p.w, p.prefix+string(p.buf)+"\n")
		p.buf = nil
	}
}

// prefixes names each run for its console: the scenario name, "#2" on a
// repeated name, padded to one width so the lines align.
func prefixes(names []string) []string {
	seen := map[string]int{}
	out := make([]string, len(names))
	width := 0
	for i, n := range names {
		seen[n]++
		if seen[n] > 1 {
			n += "#" + strconv.Itoa(seen[n])
		}
		out[i] = "[" + n + "]"
		width = max(width, len(out[i]))
	}
	for i := range out {
		out[i] += strings.Repeat(" ", width-len(out[i])+1)
	}
	return out
}

// parallelConsole is the live view of one run among several: its step
// lines (never a spinner: lines of other runs would break it), then only
// the verdict lines of its closing report; the whole report is in its run
// directory (`scn report DIR`).
type parallelConsole struct {
	*report.Console
	w    io.Writer
	opts report.Options
}

func (c parallelConsole) RunFinished(j *journal.Journal) {
	c.Console.Close()
	o := c.opts
	o.Quiet = true
	report.WriteSummary(c.w, j, o)
}
