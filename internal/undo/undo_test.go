package undo

import (
	"context"
	"errors"
	"slices"
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

// Early undos (a standby's loops) run before every ordinary one, whatever
// their place in the stack; ordinary ones stay last in, first out.
func TestEarlyUndosRunFirst(t *testing.T) {
	var order []string
	st := &Stack{}
	st.Push("a", "destroy a", "a", false, func(context.Context) error { order = append(order, "a"); return nil })
	st.PushEarly("b", "stop b's loop", func(context.Context) error { order = append(order, "stop-b"); return nil })
	st.Push("c", "destroy c", "c", false, func(context.Context) error { order = append(order, "c"); return nil })
	st.Unwind(context.Background(), nil)
	if !slices.Equal(order, []string{"stop-b", "c", "a"}) {
		t.Errorf("unwind order %v, want [stop-b c a]", order)
	}
}
