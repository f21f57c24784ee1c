package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
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

// Requests is how many requests it has counted so far: a test sees which
// of them a fault can meet.
func (f *Faulty) Requests() int64 { return f.calls.Load() }

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

// Presigner passes the wrapped store's Presigner on, failing like the
// store's own requests: creating, completing and aborting an upload, and
// each part or download URL, count as requests, so a machine's uploads
// meet the injected failures too. PresignHead (the machine's reachability
// probe) does not count: the transfer through scn makes no such request.
func (f *Faulty) Presigner() (Presigner, bool) {
	p, ok := PresignerOf(f.Store)
	if !ok {
		return nil, false
	}
	return faultyPresigner{f, p}, true
}

// Shared passes the wrapped store's Shared capability on: PutFile counts as
// a put and GetFile as a get, the requests a transfer through scn makes.
func (f *Faulty) Shared() (Shared, bool) {
	s, ok := SharedOf(f.Store)
	if !ok {
		return nil, false
	}
	return faultyShared{f, s}, true
}

// Purger passes the wrapped store's Purger on; a purge counts as one
// delete request.
func (f *Faulty) Purger() (Purger, bool) {
	p, ok := PurgerOf(f.Store)
	if !ok {
		return nil, false
	}
	return faultyPurger{f, p}, true
}

type faultyPurger struct {
	f *Faulty
	Purger
}

func (p faultyPurger) Purge(ctx context.Context, prefix string) (int, error) {
	if err := p.f.inject("purge", prefix); err != nil {
		return 0, err
	}
	return p.Purger.Purge(ctx, prefix)
}

type faultyPresigner struct {
	f *Faulty
	Presigner
}

func (p faultyPresigner) CreateUpload(ctx context.Context, key string) (string, error) {
	if err := p.f.inject("create upload", key); err != nil {
		return "", err
	}
	return p.Presigner.CreateUpload(ctx, key)
}

func (p faultyPresigner) PresignPart(ctx context.Context, key, id string, n int, ttl time.Duration) (Request, error) {
	if err := p.f.inject(fmt.Sprintf("upload part %d of", n), key); err != nil {
		return Request{}, err
	}
	return p.Presigner.PresignPart(ctx, key, id, n, ttl)
}

func (p faultyPresigner) CompleteUpload(ctx context.Context, key, id string, parts []Part) error {
	if err := p.f.inject("complete upload", key); err != nil {
		return err
	}
	return p.Presigner.CompleteUpload(ctx, key, id, parts)
}

func (p faultyPresigner) AbortUpload(ctx context.Context, key, id string) error {
	if err := p.f.inject("abort upload", key); err != nil {
		return err
	}
	return p.Presigner.AbortUpload(ctx, key, id)
}

func (p faultyPresigner) PresignGet(ctx context.Context, key string, ttl time.Duration) (Request, error) {
	if err := p.f.inject("get", key); err != nil {
		return Request{}, err
	}
	return p.Presigner.PresignGet(ctx, key, ttl)
}

type faultyShared struct {
	f *Faulty
	Shared
}

func (s faultyShared) PutFile(ctx context.Context, key string) (string, func() (int64, error), func(), error) {
	if err := s.f.inject("put", key); err != nil {
		return "", nil, nil, err
	}
	return s.Shared.PutFile(ctx, key)
}

func (s faultyShared) GetFile(ctx context.Context, key string) (string, error) {
	if err := s.f.inject("get", key); err != nil {
		return "", err
	}
	return s.Shared.GetFile(ctx, key)
}
