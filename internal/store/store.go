// Package store is where snapshots live: one small interface over object
// storage, with the directory implementation (the local target's default,
// under .scn/store/) here and the S3 one (Backblaze B2 and any other
// S3-compatible endpoint) in s3store, so that what only needs the interface
// links no cloud SDK. Objects are streamed in and out; nothing is staged
// in temporary files.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Object describes one stored object.
type Object struct {
	Key      string    `json:"key"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

// ErrNotExist is returned (wrapped) by Get and Stat for a missing key.
var ErrNotExist = errors.New("object does not exist")

// Store is a flat namespace of keys ("snapshots/<name>/manifest.json").
type Store interface {
	// Put streams r into key, replacing any object there, and returns the
	// number of bytes stored. The object appears only once complete.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get streams the object back.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes the object.
	Stat(ctx context.Context, key string) (Object, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String says where the store is, for messages (never includes secrets).
	String() string
}

// Purger is implemented by stores where deleting the objects listed under a
// prefix can leave bytes behind that are still stored (and billed): older
// versions and delete markers on a versioned bucket (Backblaze B2 keeps
// every version by default), unfinished multipart uploads of a writer that
// died, a directory store's temporaries. Purge removes all of it under
// prefix, listed objects included, and returns how many things it removed:
// 0 means nothing was there. Only for a prefix no one writes any more.
type Purger interface {
	Purge(ctx context.Context, prefix string) (removed int, err error)
}

// PurgerOf returns st's Purger: st itself, or what a wrapper passes on (a
// wrapper implements `Purger() (Purger, bool)`).
func PurgerOf(st Store) (Purger, bool) {
	if w, ok := st.(interface{ Purger() (Purger, bool) }); ok {
		return w.Purger()
	}
	p, ok := st.(Purger)
	return p, ok
}
