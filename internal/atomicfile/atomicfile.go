// Package atomicfile writes files that appear whole or not at all: the
// content goes to a temporary file beside the final path, is synced to disk,
// and only then renamed (to replace) or hard-linked (to create, failing if
// the name is taken) into place. Readers — another scn process, a sandbox,
// a crash-recovering run — therefore never see half a journal, lease, key,
// sandbox config or stored object. One helper instead of one per package,
// so the fsync-before-rename and the clean-up of the temporary file are
// written once. Directories are not synced: a crash may lose the new name,
// never expose a partial file.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// TempPrefix starts the name of every temporary file this package writes
// (.scn-put-<name>-<random>), so whoever lists a directory that holds them
// (the directory store) can tell a write in progress from a finished file.
const TempPrefix = ".scn-put-"

// Pending is the new content of a file, being written to a temporary file
// beside it. It reaches the final path only through Commit; Abort (or a
// failed Commit) removes it.
type Pending struct {
	f    *os.File
	path string
	done bool
}

// New starts writing path with permissions perm (exactly perm: no umask).
func New(path string, perm fs.FileMode) (*Pending, error) {
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return nil, err
	}
	p := &Pending{f: f, path: path}
	if err := f.Chmod(perm); err != nil {
		p.Abort()
		return nil, err
	}
	return p, nil
}

// Write implements io.Writer.
func (p *Pending) Write(b []byte) (int, error) { return p.f.Write(b) }

// Commit syncs the content to disk and renames it over path: readers see
// the old file or the new one. The file is durable before it is visible,
// so a crash never leaves an empty or truncated file under path.
func (p *Pending) Commit() error { return p.finish(false) }

// commitNew is Commit that refuses to replace: link(2) fails with
// fs.ErrExist when path exists, so of several processes creating the same
// path exactly one wins.
func (p *Pending) commitNew() error { return p.finish(true) }

func (p *Pending) finish(link bool) error {
	if p.done {
		return errors.New("atomicfile: " + p.path + " already committed or aborted")
	}
	p.done = true
	tmp := p.f.Name()
	err := p.f.Sync()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && link {
		err = os.Link(tmp, p.path)
	} else if err == nil {
		if err = os.Rename(tmp, p.path); err == nil {
			return nil // the temporary name is gone with the rename
		}
	}
	os.Remove(tmp)
	return err
}

// Abort drops the pending content; path is left as it was. It does nothing
// after Commit, so `defer p.Abort()` is the usual clean-up.
func (p *Pending) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.f.Close()
	os.Remove(p.f.Name())
}

// WriteFile replaces path with data, atomically and durably (see Commit).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, (*Pending).Commit)
}

// Create writes data to path only if path does not exist yet; otherwise
// it returns an error matching fs.ErrExist and leaves path alone. Of
// several processes creating the same path, exactly one succeeds, and
// nobody ever reads a half-written file.
func Create(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, (*Pending).commitNew)
}

func write(path string, data []byte, perm fs.FileMode, commit func(*Pending) error) error {
	p, err := New(path, perm)
	if err != nil {
		return err
	}
	defer p.Abort()
	if _, err := p.Write(data); err != nil {
		return err
	}
	return commit(p)
}
