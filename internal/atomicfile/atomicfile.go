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
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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
	path string    // the final name, in ns
	tmp  string    // the temporary file's name, in ns
	ns   namespace // where path and tmp are: the file system, or an os.Root
	done bool
}

// namespace names files by ordinary paths (osPaths) or under an *os.Root.
type namespace interface {
	Rename(from, to string) error
	Link(from, to string) error
	Remove(name string) error
}

type osPaths struct{}

func (osPaths) Rename(from, to string) error { return os.Rename(from, to) }
func (osPaths) Link(from, to string) error   { return os.Link(from, to) }
func (osPaths) Remove(name string) error     { return os.Remove(name) }

// New starts writing path with permissions perm (exactly perm: no umask).
func New(path string, perm fs.FileMode) (*Pending, error) {
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return nil, err
	}
	p := &Pending{f: f, path: path, tmp: f.Name(), ns: osPaths{}}
	if err := f.Chmod(perm); err != nil {
		p.Abort()
		return nil, err
	}
	return p, nil
}

// NewIn is New for name under root only (see os.Root): the temporary file,
// and later the final name, must not lead out of root, by .. or by a
// symbolic link.
func NewIn(root *os.Root, name string, perm fs.FileMode) (*Pending, error) {
	dir, base := filepath.Split(name)
	for range 100 {
		tmp := filepath.Join(dir, TempPrefix+base+"-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p := &Pending{f: f, path: name, tmp: tmp, ns: root}
		if err := f.Chmod(perm); err != nil {
			p.Abort()
			return nil, err
		}
		return p, nil
	}
	return nil, errors.New("atomicfile: no free temporary name beside " + name)
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
	err := p.f.Sync()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && link {
		err = p.ns.Link(p.tmp, p.path)
	} else if err == nil {
		if err = p.ns.Rename(p.tmp, p.path); err == nil {
			return nil // the temporary name is gone with the rename
		}
	}
	p.ns.Remove(p.tmp)
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
	p.ns.Remove(p.tmp)
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

// WriteFileIn is WriteFile for name under root only: a name that leads
// out of root — absolute, climbing with .., or through a symbolic link
// pointing out — is refused and nothing is written.
func WriteFileIn(root *os.Root, name string, data []byte, perm fs.FileMode) error {
	p, err := NewIn(root, name, perm)
	if err != nil {
		return err
	}
	return finishWrite(p, data, (*Pending).Commit)
}

func write(path string, data []byte, perm fs.FileMode, commit func(*Pending) error) error {
	p, err := New(path, perm)
	if err != nil {
		return err
	}
	return finishWrite(p, data, commit)
}

func finishWrite(p *Pending, data []byte, commit func(*Pending) error) error {
	defer p.Abort()
	if _, err := p.Write(data); err != nil {
		return err
	}
	return commit(p)
}
