package ssh

import (
	"bytes"
	"fmt"
)

// maxLogLine splits very long lines so one line cannot flood the console.
const maxLogLine = 4096

// tailSize is how much of the end of a stream is kept for error messages,
// whatever max_output says.
const tailSize = 2048

// capture keeps the first max bytes of a stream, counts the rest, keeps
// the last tailSize bytes, and optionally hands the kept bytes to log line
// by line as they arrive.
type capture struct {
	max     int
	kept    bytes.Buffer
	tail    []byte
	dropped int64
	stream  string
	log     func(stream, line string)
	line    []byte // partial line not yet logged
}

func newCapture(max int, stream string, log func(stream, line string)) *capture {
	return &capture{max: max, stream: stream, log: log}
}

// Write never fails: output beyond max is dropped, not refused, so the
// command is never blocked or broken by scn's limit.
func (c *capture) Write(p []byte) (int, error) {
	keep := min(len(p), max(c.max-c.kept.Len(), 0))
	c.kept.Write(p[:keep])
	c.dropped += int64(len(p) - keep)
	c.tail = append(c.tail, p[max(len(p)-tailSize, 0):]...)
	if len(c.tail) > tailSize {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-tailSize:]...)
	}
	if c.log != nil {
		c.logLines(p[:keep])
	}
	return len(p), nil
}

func (c *capture) logLines(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.line = append(c.line, p...)
			if len(c.line) >= maxLogLine {
				c.emit()
			}
			return
		}
		c.line = append(c.line, p[:i]...)
		c.emit()
		p = p[i+1:]
	}
}

func (c *capture) emit() {
	c.log(c.stream, string(bytes.TrimSuffix(c.line, []byte("\r"))))
	c.line = c.line[:0]
}

// flush logs a last line without newline and notes dropped output.
func (c *capture) flush() {
	if c.log == nil {
		return
	}
	if len(c.line) > 0 {
		c.emit()
	}
	if c.dropped > 0 {
		c.log(c.stream, fmt.Sprintf("… %d more bytes of %s not kept (max_output %d)", c.dropped, c.stream, c.max))
	}
}

func (c *capture) String() string { return c.kept.String() }
