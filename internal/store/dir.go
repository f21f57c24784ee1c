package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scnlabs/scn/internal/atomicfile"
)

// Dir is a Store over a local directory: key "a/b" is the file root/a/b.
// Put writes a temporary file next to the target and renames it into place,
// so an object appears only when complete, even to another process.
type Dir struct {
	root string
}

// NewDir returns a store rooted at root (created on first Put).
func NewDir(root string) *Dir { return &Dir{root: root} }

// String implements Store.
func (d *Dir) String() string { return "dir " + d.root }

func (d *Dir) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", fmt.Errorf("%s: %w", d, err)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, fmt.Errorf("put %q in %s: %w", key, d, err)
	}
	w, err := atomicfile.New(p, 0o600)
	if err != nil {
		return 0, fmt.Errorf("put %q in %s: %w", key, d, err)
	}
	n, err := io.Copy(w, ctxReader{ctx, r})
	if err == nil {
		// Durable before visible: a crash must not leave a renamed but
		// empty object behind.
		err = w.Commit()
	}
	if err != nil {
		w.Abort()
		d.prune(filepath.Dir(p)) // a failed Put leaves nothing, not even its folders
		return n, fmt.Errorf("put %q in %s: %w", key, d, err)
	}
	return n, nil
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil && fi.IsDir() {
			err = fs.ErrNotExist
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		return nil, d.fail("get", key, err)
	}
	return f, nil
}

// Stat implements Store.
func (d *Dir) Stat(ctx context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return Object{}, err
	}
	fi, err := os.Stat(p)
	if err == nil && fi.IsDir() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return Object{}, d.fail("stat", key, err)
	}
	return Object{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()}, nil
}

// List implements Store.
func (d *Dir) List(ctx context.Context, prefix string) ([]Object, error) {
	var objs []Object
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == d.root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll // an empty store has no directory yet
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walked
		}
		if err != nil {
			return err
		}
		objs = append(objs, Object{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, d, err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// Delete implements Store. Directories left empty are removed too, so a
// deleted snapshot leaves nothing behind.
func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %q in %s: %w", key, d, err)
	}
	d.prune(filepath.Dir(p))
	return nil
}

// prune removes dir and its parents up to the root while they are empty,
// so deleted and failed objects leave no folders behind.
func (d *Dir) prune(dir string) {
	root := filepath.Clean(d.root)
	for ; dir != root && strings.HasPrefix(dir, root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty (or already gone): stop climbing
		}
	}
}

func (d *Dir) fail(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %q in %s: %w", op, key, d, ErrNotExist)
	}
	return fmt.Errorf("%s %q in %s: %w", op, key, d, err)
}

// ctxReader stops a copy when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
