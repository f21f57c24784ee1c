package store

import (
	"context"
	"net/http"
	"time"
)

// The capabilities below let the machine being snapshotted move the bytes
// itself (scn's agent, internal/agent) while scn keeps the store's keys:
// a store implements the ones it can. Wrappers such as Faulty pass the
// wrapped store's capabilities on through PresignerOf and SharedOf.

// Request is one HTTP request a machine may make without the store's keys:
// a presigned URL (SigV4 query authentication), the headers that were
// signed with it and must be sent as they are, and when it stops working.
type Request struct {
	Method  string
	URL     string
	Header  http.Header // signed headers besides Host; nil when none
	Expires time.Time   // by scn's clock
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int    `json:"number"` // 1-based
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

// Presigner is implemented by stores that can let a machine upload and
// download one object over HTTP with short-lived presigned URLs.
type Presigner interface {
	// CreateUpload starts a multipart upload of key and returns its id.
	// Until CompleteUpload the object does not exist, and the parts are
	// kept (and billed, on B2) until CompleteUpload or AbortUpload.
	CreateUpload(ctx context.Context, key string) (uploadID string, err error)
	// PresignPart lets the bearer PUT part n (1-based) of the upload.
	PresignPart(ctx context.Context, key, uploadID string, n int, ttl time.Duration) (Request, error)
	// CompleteUpload assembles parts, in order, into the object.
	CompleteUpload(ctx context.Context, key, uploadID string, parts []Part) error
	// AbortUpload discards the upload and its parts.
	AbortUpload(ctx context.Context, key, uploadID string) error
	// PresignGet lets the bearer GET key, any byte Range of it.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (Request, error)
	// PresignHead lets the bearer HEAD key: how a machine shows it can
	// reach the store before any byte moves.
	PresignHead(ctx context.Context, key string, ttl time.Duration) (Request, error)
	// PartSize and Concurrency are the store's transfer settings: upload
	// part size (ranges are at most 8 MiB of it) and requests in flight.
	PartSize() int64
	Concurrency() int
	// CertificateAuthorities are extra CAs (PEM) a machine must trust to
	// reach the endpoint: a private or test server's; nil for public ones.
	CertificateAuthorities() []byte
}

// Shared is implemented by stores whose objects are files on scn's own
// filesystem, which a machine sharing that filesystem (a local sandbox)
// can write and read itself.
type Shared interface {
	// PutFile reserves an empty temporary file beside key's for the
	// machine to write the object into. commit makes it the object
	// (durable first, then renamed into place, so it appears whole) and
	// returns its size; abort removes it. One of them must be called.
	PutFile(ctx context.Context, key string) (tmp string, commit func() (int64, error), abort func(), err error)
	// GetFile returns the path of key's file (wrapping ErrNotExist).
	GetFile(ctx context.Context, key string) (string, error)
	// Probe writes a file holding token that only a machine sharing the
	// filesystem can read; remove deletes it.
	Probe() (path, token string, remove func(), err error)
	// DiscardPartial removes the unfinished objects under prefix: files
	// reserved by PutFile, or left by a Put, whose writer died before
	// finishing (scn or its agent killed). Only for a prefix no one writes.
	DiscardPartial(ctx context.Context, prefix string) error
}

// PresignerOf returns st's Presigner: st itself, or what a wrapper passes
// on (a wrapper implements `Presigner() (Presigner, bool)`).
func PresignerOf(st Store) (Presigner, bool) {
	if w, ok := st.(interface{ Presigner() (Presigner, bool) }); ok {
		return w.Presigner()
	}
	p, ok := st.(Presigner)
	return p, ok
}

// SharedOf returns st's Shared capability: st itself, or what a wrapper
// passes on (a wrapper implements `Shared() (Shared, bool)`).
func SharedOf(st Store) (Shared, bool) {
	if w, ok := st.(interface{ Shared() (Shared, bool) }); ok {
		return w.Shared()
	}
	s, ok := st.(Shared)
	return s, ok
}
