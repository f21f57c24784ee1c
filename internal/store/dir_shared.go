package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

var _ Shared = (*Dir)(nil)

// PutFile implements Shared: the temporary file is named like Put's own,
// so List never shows it and the object appears only when committed.
func (d *Dir) PutFile(ctx context.Context, key string) (string, func() (int64, error), func(), error) {
	p, err := d.path(key)
	if err != nil {
		return "", nil, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", nil, nil, fmt.Errorf("put %q in %s: %w", key, d, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), tempPrefix+"*")
	if err != nil {
		return "", nil, nil, fmt.Errorf("put %q in %s: %w", key, d, err)
	}
	tmp.Close()
	name, err := filepath.Abs(tmp.Name()) // the machine runs in another directory
	if err != nil {
		os.Remove(tmp.Name())
		return "", nil, nil, err
	}
	abort := func() {
		os.Remove(tmp.Name())
		d.prune(filepath.Dir(p))
	}
	commit := func() (int64, error) {
		f, err := os.Open(tmp.Name())
		if err != nil {
			abort()
			return 0, fmt.Errorf("put %q in %s: %w", key, d, err)
		}
		// Durable before visible, as Put: whoever wrote it may not have synced.
		err = f.Sync()
		fi, serr := f.Stat()
		if err == nil {
			err = serr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), p)
		}
		if err != nil {
			abort()
			return 0, fmt.Errorf("put %q in %s: %w", key, d, err)
		}
		return fi.Size(), nil
	}
	return name, commit, abort, nil
}

// GetFile implements Shared.
func (d *Dir) GetFile(ctx context.Context, key string) (string, error) {
	p, err := d.path(key)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err == nil && !fi.Mode().IsRegular() {
		err = os.ErrNotExist
	}
	if err != nil {
		return "", d.fail("get", key, err)
	}
	return filepath.Abs(p)
}

// Probe implements Shared: a temporary file at the store's root.
func (d *Dir) Probe() (string, string, func(), error) {
	if err := os.MkdirAll(d.root, 0o755); err != nil {
		return "", "", nil, fmt.Errorf("%s: %w", d, err)
	}
	f, err := os.CreateTemp(d.root, tempPrefix+"probe-*")
	if err != nil {
		return "", "", nil, fmt.Errorf("%s: %w", d, err)
	}
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	_, err = f.WriteString(token)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	remove := func() { os.Remove(f.Name()) }
	if err != nil {
		remove()
		return "", "", nil, fmt.Errorf("%s: %w", d, err)
	}
	abs, err := filepath.Abs(f.Name())
	if err != nil {
		remove()
		return "", "", nil, err
	}
	return abs, token, remove, nil
}

// DiscardPartial implements Shared.
func (d *Dir) DiscardPartial(ctx context.Context, prefix string) error {
	_, err := d.discardPartial(prefix)
	return err
}

var _ Purger = (*Dir)(nil)

// Purge implements Purger: the temporaries of writers that died (the
// `.scn-put-*` files Put and PutFile write into before renaming), then the
// objects under prefix.
func (d *Dir) Purge(ctx context.Context, prefix string) (int, error) {
	n, err := d.discardPartial(prefix)
	if err != nil {
		return n, err
	}
	objs, err := d.List(ctx, prefix)
	if err != nil {
		return n, err
	}
	for _, o := range objs {
		if err := d.Delete(ctx, o.Key); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// discardPartial removes the temporaries directly under prefix and says
// how many there were.
func (d *Dir) discardPartial(prefix string) (int, error) {
	dir := strings.TrimSuffix(prefix, "/")
	if err := CheckKey(dir); err != nil {
		return 0, fmt.Errorf("%s: %w", d, err)
	}
	base := filepath.Join(d.root, filepath.FromSlash(dir))
	partial, err := filepath.Glob(filepath.Join(base, tempPrefix+"*"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range partial {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return n, fmt.Errorf("discarding %s in %s: %w", filepath.Base(p), d, err)
		}
		n++
	}
	d.prune(base)
	return n, nil
}
