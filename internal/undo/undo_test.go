package undo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// An undo that fails and whose deadline passes while it waits to be tried
// again keeps its own error: the journal must say why the destroy failed
// (a provider's 429, say), not that the undo never ran.
func TestRetryCutByTheDeadlineKeepsTheUndosError(t *testing.T) {
	s := &Stack{Retries: []time.Duration{time.Hour}}
	tries := 0
	s.Push("gpu", "destroy instance 42", "42", false, func(context.Context) error {
		tries++
		return errors.New("429 Too Many Requests")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := s.Unwind(ctx, nil)
	if len(done) != 1 {
		t.Fatalf("%d undos in the journal, want 1: %+v", len(done), done)
	}
	u := done[0]
	if u.Status != "failed" || !strings.Contains(u.Error, "429 Too Many Requests") {
		t.Errorf("undo %s: %q, want failed with the undo's own error", u.Status, u.Error)
	}
	if u.Attempts != tries || tries != 1 {
		t.Errorf("journal says %d attempts, the undo ran %d times, want 1", u.Attempts, tries)
	}
}
