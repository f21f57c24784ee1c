package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// ErrInjected marks failures made up by Faulty.
var ErrInjected = errors.New("injected fault")

// Faulty wraps a Store and fails every FailEvery-th request (Put, Get, Stat,
// List or Delete, counted together) with an error wrapping ErrInjected. The
// local target uses it to rehearse storage failures; 0 never fails. Use a
// pointer: the request counter is shared by all calls.
type Faulty struct {
	Store
	FailEvery int

	calls atomic.Int64
}

func (f *Faulty) inject(op, key string) error {
	n := f.calls.Add(1)
	if f.FailEvery > 0 && n%int64(f.FailEvery) == 0 {
		return fmt.Errorf("%s %q in %s: %w (request %d; failing every %d)", op, key, f.Store, ErrInjected, n, f.FailEvery)
	}
	return nil
}

// Put implements Store.
func (f *Faulty) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := f.inject("put", key); err != nil {
		return 0, err
	}
	return f.Store.Put(ctx, key, r)
}

// Get implements Store.
func (f *Faulty) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := f.inject("get", key); err != nil {
		return nil, err
	}
	return f.Store.Get(ctx, key)
}

// Stat implements Store.
func (f *Faulty) Stat(ctx context.Context, key string) (Object, error) {
	if err := f.inject("stat", key); err != nil {
		return Object{}, err
	}
	return f.Store.Stat(ctx, key)
}

// List implements Store.
func (f *Faulty) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := f.inject("list", prefix); err != nil {
		return nil, err
	}
	return f.Store.List(ctx, prefix)
}

// Delete implements Store.
func (f *Faulty) Delete(ctx context.Context, key string) error {
	if err := f.inject("delete", key); err != nil {
		return err
	}
	return f.Store.Delete(ctx, key)
}

// String implements Store.
func (f *Faulty) String() string {
	return fmt.Sprintf("%s (failing every %d requests)", f.Store, f.FailEvery)
}
