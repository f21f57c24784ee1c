package standby

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/scnlabs/scn/internal/remote"
)

// Side names the machine an error came from, so health accounting can
// tell "the standby is unreachable" from "the GPU is".
type Side string

// The two ends of an association.
const (
	GPU     Side = "gpu"
	Standby Side = "standby"
)

// SideError is an operation that failed on one machine of the
// association, so messages say which one.
type SideError struct {
	Side Side
	ID   string // instance id
	Err  error
}

func (e *SideError) Error() string { return fmt.Sprintf("%s %s: %v", e.Side, e.ID, e.Err) }
func (e *SideError) Unwrap() error { return e.Err }

// endpoint is a command on one machine.
type endpoint struct {
	side Side
	id   string
	x    remote.Execer
	cmd  string
	ok   func(code int) bool // which exit codes are success
}

// errReaderDone stops the sending command once the receiving one failed.
var errReaderDone = errors.New("the receiving side stopped reading")

// stream runs src and dst at once with src's stdout piped into dst's
// stdin through scn, and returns how many bytes passed: the figure a sync
// or a failover reports is measured on the real stream. in is src's stdin.
// The first side to fail is the cause reported, and the other is
// cancelled at once, so a dead machine never leaves the other blocked on
// a full pipe. progress (may be nil) is told the running total.
func stream(ctx context.Context, src, dst endpoint, in io.Reader, progress func(int64)) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first error
	var once sync.Once
	fail := func(err error) { once.Do(func() { first = err; cancel() }) }

	pr, pw := io.Pipe()
	var passed atomic.Int64
	counter := remote.Metered(pw, func(n int64) {
		if total := passed.Add(n); progress != nil {
			progress(total)
		}
	})
	srcDone := make(chan struct{})
	go func() {
		defer close(srcDone)
		err := run(ctx, src, in, counter)
		if err != nil {
			fail(err)
		}
		pw.CloseWithError(err) // nil: a clean EOF for the receiver
	}()
	if err := run(ctx, dst, pr, nil); err != nil {
		fail(err)
		pr.CloseWithError(errReaderDone)
	} else {
		// The receiver has the whole archive; let the sender finish
		// writing whatever follows (tar's record padding) rather than
		// breaking its pipe.
		_, _ = io.Copy(io.Discard, pr)
	}
	<-srcDone
	return passed.Load(), first
}

// run executes one endpoint, turning a transport error or an exit status
// it does not accept into a *SideError carrying the command's stderr.
func run(ctx context.Context, e endpoint, in io.Reader, out io.Writer) error {
	var stderr bytes.Buffer
	code, err := e.x.Exec(ctx, e.cmd, in, out, &limitedWriter{b: &stderr, max: 4096})
	if err != nil {
		return &SideError{Side: e.side, ID: e.id, Err: err}
	}
	ok := e.ok
	if ok == nil {
		ok = func(c int) bool { return c == 0 }
	}
	if !ok(code) {
		return &SideError{Side: e.side, ID: e.id, Err: &remote.ExitError{Cmd: e.cmd, Code: code, Stderr: stderr.String()}}
	}
	return nil
}

// exec runs a command that produces a small answer (a listing, an echo).
func exec(ctx context.Context, side Side, id string, x remote.Execer, cmd string, in io.Reader) ([]byte, error) {
	var out bytes.Buffer
	err := run(ctx, endpoint{side: side, id: id, x: x, cmd: cmd}, in, &out)
	return out.Bytes(), err
}

// limitedWriter keeps the first max bytes (stderr for error messages).
type limitedWriter struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// tarOK accepts GNU tar's exit status 1 on the sending side: "some files
// changed while being read". The copy is still a valid archive; the next
// cycle sees the newer mtime and sends the file again.
func tarOK(code int) bool { return code == 0 || code == 1 }

// sendCommand archives the paths listed on stdin (NUL-separated, see
// nulList) from dir. POSIX (pax) format keeps mtimes to the nanosecond, so
// the copy's listing compares equal to the original's; --no-recursion
// because the list already names every entry to send; a file deleted
// since the listing is skipped (--ignore-failed-read) and its deletion is
// seen by the next cycle.
func sendCommand(dir string) string {
	return "cd -- " + remote.Quote(dir) + " && tar --format=posix --no-recursion --ignore-failed-read --null -T - -cf -"
}

// receiveCommand extracts a stream into dir, creating it: permissions as
// archived (-p) so the next comparison holds for a non-root user too, and
// owned by whoever logs in (the standby's user need not exist on the GPU).
func receiveCommand(dir string) string {
	q := remote.Quote(dir)
	return "mkdir -p -- " + q + " && cd -- " + q + " && tar -xpf - --no-same-owner"
}

// removeCommand deletes the paths listed on stdin (NUL-separated "./p",
// checked by safeRel) inside dir. rm -rf removes a link, never its target.
func removeCommand(dir string) string {
	return "cd -- " + remote.Quote(dir) + " && xargs -0 -r rm -rf --"
}

// describe shortens an error for a one-line log.
func describe(err error) string {
	s := err.Error()
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
