package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/scnlabs/scn/internal/store"
)

// upload is the object an agent writes: reserved before it starts,
// completed by scn once the agent reported everything, or aborted.
type upload interface {
	file() string // the file to write into ("" for a multipart upload)
	presign(ctx context.Context, n int) (store.Request, error)
	part(p store.Part) error
	complete(ctx context.Context, size int64) error
	abort(ctx context.Context)
}

// multipartUpload is an S3 multipart upload whose parts the agent PUTs.
type multipartUpload struct {
	p     store.Presigner
	key   string
	id    string
	parts map[int]store.Part
}

func newMultipartUpload(ctx context.Context, p store.Presigner, key string) (*multipartUpload, error) {
	id, err := p.CreateUpload(ctx, key)
	if err != nil {
		return nil, err
	}
	return &multipartUpload{p: p, key: key, id: id, parts: map[int]store.Part{}}, nil
}

func (u *multipartUpload) file() string { return "" }

func (u *multipartUpload) presign(ctx context.Context, n int) (store.Request, error) {
	if n < 1 {
		return store.Request{}, fmt.Errorf("part %d does not exist (parts count from 1)", n)
	}
	return u.p.PresignPart(ctx, u.key, u.id, n, urlTTL)
}

func (u *multipartUpload) part(p store.Part) error {
	if p.Number < 1 || p.ETag == "" || p.Size < 0 {
		return fmt.Errorf("the agent reported an impossible part %+v", p)
	}
	u.parts[p.Number] = p
	return nil
}

// complete assembles the parts once they are exactly 1..N and add up to
// size: a missing part would make a silently short object.
func (u *multipartUpload) complete(ctx context.Context, size int64) error {
	var parts []store.Part
	var sum int64
	for n := 1; n <= len(u.parts); n++ {
		p, ok := u.parts[n]
		if !ok {
			return fmt.Errorf("the agent reported %d parts but not part %d", len(u.parts), n)
		}
		parts = append(parts, p)
		sum += p.Size
	}
	if sum != size || len(parts) == 0 {
		return fmt.Errorf("the agent's %d parts hold %d bytes, but it stored %d", len(parts), sum, size)
	}
	return u.p.CompleteUpload(ctx, u.key, u.id, parts)
}

func (u *multipartUpload) abort(ctx context.Context) { u.p.AbortUpload(ctx, u.key, u.id) }

// fileUpload is a file in a directory store the machine writes itself.
type fileUpload struct {
	tmp     string
	commit  func() (int64, error)
	discard func()
}

func newFileUpload(ctx context.Context, sh store.Shared, key string) (*fileUpload, error) {
	tmp, commit, discard, err := sh.PutFile(ctx, key)
	if err != nil {
		return nil, err
	}
	return &fileUpload{tmp: tmp, commit: commit, discard: discard}, nil
}

func (u *fileUpload) file() string { return u.tmp }

func (u *fileUpload) presign(context.Context, int) (store.Request, error) {
	return store.Request{}, errors.New("the store is a folder on this machine: there are no URLs to sign")
}

func (u *fileUpload) part(store.Part) error {
	return errors.New("the agent reported a part of an upload into a folder")
}

func (u *fileUpload) complete(_ context.Context, size int64) error {
	fi, err := os.Stat(u.tmp)
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("the agent wrote %d bytes into %s, but it stored %d", fi.Size(), u.tmp, size)
	}
	_, err = u.commit()
	return err
}

func (u *fileUpload) abort(context.Context) { u.discard() }
