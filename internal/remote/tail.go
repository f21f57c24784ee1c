package remote

import (
	"strings"
	"sync"
)

// Tail keeps the last bytes written to it: a long-running command's
// stderr (tar's complaints, an agent's log), bounded however much it
// writes, for the error that says what went wrong on the machine.
type Tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

// NewTail keeps the last max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

// String is what was kept as one line: lines joined by " ; ", runs of
// spaces made one.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(t.b)), "\n", " ; ")), " ")
}
