package storetest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/scnlabs/scn/internal/store"
)

// StuckUploads wraps a store that presigns (S3) so that no multipart
// upload can be completed or aborted — a store answering 503 at the end
// of every transfer — and its first FailPurges purges fail the same way.
// Purges counts them all. What a failed transfer leaves must then be
// removed by a purge that is tried again.
type StuckUploads struct {
	store.Store
	FailPurges int32
	Purges     atomic.Int32
}

// Presigner passes the wrapped store's on, its completions and aborts
// failing.
func (s *StuckUploads) Presigner() (store.Presigner, bool) {
	p, ok := store.PresignerOf(s.Store)
	return unfinished{p}, ok
}

// Purger passes the wrapped store's on, counting its calls and failing the
// first FailPurges.
func (s *StuckUploads) Purger() (store.Purger, bool) {
	p, ok := store.PurgerOf(s.Store)
	return countedPurger{p, s}, ok
}

type unfinished struct{ store.Presigner }

func (unfinished) CompleteUpload(context.Context, string, string, []store.Part) error {
	return errors.New("completing: 503 Service Unavailable")
}

func (unfinished) AbortUpload(context.Context, string, string) error {
	return errors.New("aborting: 503 Service Unavailable")
}

type countedPurger struct {
	store.Purger
	s *StuckUploads
}

func (c countedPurger) Purge(ctx context.Context, prefix string) (int, error) {
	if c.s.Purges.Add(1) <= c.s.FailPurges {
		return 0, errors.New("purging: 503 Service Unavailable")
	}
	return c.Purger.Purge(ctx, prefix)
}
