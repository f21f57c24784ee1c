package secret

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Writer masks a byte stream on its way to an underlying writer. A secret
// split across Write calls is still masked: bytes that may be the start of a
// secret are held back (at most the longest secret's length, plus one byte
// for the whole-word rule) until the next Write tells, or Flush / Close.
// Bytes that cannot start a secret go out at once, so a prompt or a progress
// line without a newline is not delayed by masking. It is safe for
// concurrent use (stdout and stderr of one command may share it).
type Writer struct {
	m   *Masker
	w   io.Writer
	mu  sync.Mutex
	buf []byte // input not yet decided
	out []byte // reused output buffer
	st  state
	err error // sticky: the underlying writer failed, or Close was called
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("secret: write to a closed masking writer")

// Writer returns a masking writer in front of w. Close it (or Flush it) at
// the end of the stream; closing does not close w.
func (m *Masker) Writer(w io.Writer) *Writer {
	return &Writer{m: m, w: w, st: newState()}
}

// Write masks p and passes on what is decided. It returns len(p) once p is
// taken, or the underlying writer's error.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	set := w.m.load()
	if set == nil { // no secret yet: nothing to hold back
		if len(p) > 0 {
			w.st.prev = int(p[len(p)-1])
		}
		return w.pass(p, len(p))
	}
	w.buf = append(w.buf, p...)
	return w.emit(set, false, len(p))
}

// Flush writes out the held-back bytes, treating them as the end of the
// stream: call it when output reaches a natural end (a command finished). A
// secret cut in two by a Flush is not recognised.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		if errors.Is(w.err, ErrClosed) {
			return nil
		}
		return w.err
	}
	_, err := w.emit(w.m.load(), true, 0)
	return err
}

// Close flushes and refuses further writes. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	if w.err == nil {
		w.err = ErrClosed
	}
	w.mu.Unlock()
	return err
}

// emit scans the pending input and writes what is decided; n is what Write
// reports on success.
func (w *Writer) emit(set *set, final bool, n int) (int, error) {
	if len(w.buf) == 0 {
		return n, nil
	}
	if set == nil { // Flush before any secret was added
		return w.pass(w.buf, n)
	}
	out, used := set.scan(&w.st, w.out[:0], w.buf, final)
	w.buf = w.buf[:copy(w.buf, w.buf[used:])]
	w.out = out
	return w.pass(out, n)
}

func (w *Writer) pass(b []byte, n int) (int, error) {
	if len(b) == 0 {
		return n, nil
	}
	if _, err := w.w.Write(b); err != nil {
		w.err = err
		return 0, err
	}
	return n, nil
}

// WriteFile creates path (and its directory) and writes to it through a
// masking writer what fill writes: reports and run files never hold a
// secret, whatever they quote.
func (m *Masker) WriteFile(path string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := m.Writer(f)
	err = fill(w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
