package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"

	"github.com/scnlabs/scn/internal/agent/wire"
)

// A standby increment travels GPU → store → standby without scn in the
// path: the GPU's agent runs the same tar as the sync through scn (POSIX
// format, the listed entries only) into one object (sender), and the
// standby's agent extracts it with the same tar as the receiving side
// (receiver). The commands are the ones internal/standby runs over SSH,
// so a copy made either way compares equal at the next listing.

// sendArgs are tar's arguments on the GPU: the NUL-separated list on
// stdin, no recursion (the list names every entry), entries gone since the
// listing skipped.
var sendArgs = []string{"--format=posix", "--no-recursion", "--ignore-failed-read", "--null", "-T", "-", "-cf", "-"}

// receiveArgs extract with modes as archived and owned by the user the
// agent runs as (the GPU's user need not exist on the standby).
var receiveArgs = []string{"-xpf", "-", "--no-same-owner"}

// sentResult is the final word of a send and of a receive.
type sentResult struct {
	Size int64 `json:"size"`
}

// sender runs a SendJob.
type sender struct{ job *wire.SendJob }

func (s *sender) access() wire.Access { return s.job.Store }

func (s *sender) run(ctx context.Context, a *agent) (json.RawMessage, error) {
	put, err := a.putter("the increment")
	if err != nil {
		return nil, err
	}
	var list bytes.Buffer
	for _, p := range s.job.Paths {
		if strings.IndexByte(p, 0) >= 0 {
			return nil, fmt.Errorf("path %q holds a NUL byte", p)
		}
		list.WriteString(p)
		list.WriteByte(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tar", sendArgs...)
	cmd.Dir, cmd.Stdin = s.job.Path, &list
	var stderr tail
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting tar in %s: %w", s.job.Path, err)
	}
	counted := &countingReader{r: out, report: a.prog.report}
	n, perr := put(ctx, counted)
	if perr != nil {
		cancel() // tar may be blocked writing to a pipe nobody reads
	}
	werr := cmd.Wait()
	if perr != nil {
		return nil, fmt.Errorf("storing the increment: %w", perr)
	}
	// GNU tar exits 1 when a file changed while it was read: the archive
	// is still whole, and the next cycle sends the file again.
	var exit *exec.ExitError
	if werr != nil && !(errors.As(werr, &exit) && exit.ExitCode() == 1) {
		return nil, fmt.Errorf("tar in %s: %v: %s", s.job.Path, werr, stderr.String())
	}
	a.prog.flush(counted.n.Load())
	return json.Marshal(sentResult{Size: n})
}

func (s *sender) done(r json.RawMessage) wire.Msg { return finalSize(wire.Sent, r) }

// receiver runs a ReceiveJob.
type receiver struct{ job *wire.ReceiveJob }

func (r *receiver) access() wire.Access { return r.job.Store }

func (r *receiver) run(ctx context.Context, a *agent) (json.RawMessage, error) {
	if a.size <= 0 {
		return nil, errors.New("scn gave no size for the increment")
	}
	if err := os.MkdirAll(r.job.Path, 0o755); err != nil {
		return nil, err
	}
	data, err := a.open(ctx, "the increment", a.size)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	counted := &countingReader{r: data, report: a.prog.report}
	cmd := exec.CommandContext(ctx, "tar", receiveArgs...)
	cmd.Dir, cmd.Stdin = r.job.Path, counted
	var stderr tail
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if cerr := context.Cause(ctx); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("tar extracting into %s: %v: %s", r.job.Path, err, stderr.String())
	}
	// tar stops at the end-of-archive marker; the record padding after it
	// is read too, so a short object shows as an error here, not later.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return nil, fmt.Errorf("reading the increment: %w", err)
	}
	if got := counted.n.Load(); got != a.size {
		return nil, fmt.Errorf("read %d bytes of the increment, scn stored %d", got, a.size)
	}
	a.prog.flush(a.size)
	return json.Marshal(sentResult{Size: a.size})
}

func (r *receiver) done(res json.RawMessage) wire.Msg { return finalSize(wire.Received, res) }

func finalSize(typ string, r json.RawMessage) wire.Msg {
	var res sentResult
	json.Unmarshal(r, &res)
	return wire.Msg{Type: typ, Size: res.Size}
}

// countingReader counts what passes and reports the running total.
type countingReader struct {
	r      io.Reader
	n      atomic.Int64
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if k > 0 {
		c.report(c.n.Add(int64(k)))
	}
	return k, err
}

// tail keeps the last 2 KiB written: a command's stderr for its error.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = t.b[len(t.b)-2048:]
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.b)) }
