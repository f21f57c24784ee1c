package snapshot

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// extractor is the agent's tar -x: the unpacker filterTo hands checked
// entries to, writing them under root (a fresh staging directory). The
// archive is read in order, but file contents are written by a pool of
// writers, each file by one of them, so many small files or a slow disk do
// not hold the stream up. Directories, links and empty files are made at
// once, in order; a directory gets its mode and times at the end (its
// files must be writable into until then), as tar does. Running as root,
// owners are restored by number (like tar --numeric-owner): a snapshot
// moves between machines of one image, whose user names may not exist on
// the target.
//
// The filter has already refused anything that could escape (absolute
// paths, "..", entries below a symlink, links out), and every path here is
// new in a directory only scn writes, so no entry can replace or follow
// another: files are opened O_EXCL|O_NOFOLLOW all the same.
//
// Memory: at most 4 copy buffers of 256 KiB per writer are in flight, and
// a writer writing a large file with O_DIRECT holds a 1 MiB block (direct.go).
type extractor struct {
	root  string
	owner bool // restore uid/gid: running as root

	queues []chan writeOp
	next   int
	bufs   chan []byte
	wg     sync.WaitGroup
	stop   sync.Once

	mu   sync.Mutex
	err  error
	dirs []meta
	cur  *fileJob
}

// meta is what an entry gets once written: mode, owner and times.
type meta struct {
	path     string
	mode     os.FileMode
	uid, gid int
	mtime    time.Time
	atime    time.Time
}

type fileJob struct {
	f    io.WriteCloser // *os.File, or a directFile for a large one
	meta meta
	q    chan writeOp
}

// writeOp is one writer's task: data for a file, or (done) its end.
type writeOp struct {
	job  *fileJob
	data []byte
	done bool
}

func newExtractor(root string, writers int) *extractor {
	x := &extractor{root: root, owner: os.Geteuid() == 0, bufs: make(chan []byte, 4*writers)}
	for range writers {
		q := make(chan writeOp, 8)
		x.queues = append(x.queues, q)
		x.wg.Add(1)
		go x.writer(q)
	}
	for range cap(x.bufs) {
		x.bufs <- make([]byte, copyBufSize)
	}
	return x
}

func (x *extractor) verb() string { return "extracting" }

func (x *extractor) failed() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

func (x *extractor) fail(err error) {
	x.mu.Lock()
	if x.err == nil {
		x.err = err
	}
	x.mu.Unlock()
}

func (x *extractor) path(p string) string { return filepath.Join(x.root, filepath.FromSlash(p)) }

func metaOf(h *tar.Header, path string) meta {
	return meta{path: path, mode: os.FileMode(h.Mode & 0o7777), uid: h.Uid, gid: h.Gid, mtime: h.ModTime, atime: h.AccessTime}
}

// entry implements unpacker.
func (x *extractor) entry(h *tar.Header, e Entry) (io.Writer, error) {
	if err := x.failed(); err != nil {
		return nil, err
	}
	p := x.path(e.Path)
	if e.Path != "." {
		// A hostile or hand-made archive may leave parents out; tar
		// makes them too.
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
	}
	switch e.Type {
	case TypeDir:
		if e.Path != "." { // the root's mode is the move's to set
			if err := os.Mkdir(p, 0o700); err != nil && !isDir(p) {
				return nil, err
			}
			x.dirs = append(x.dirs, metaOf(h, p))
		}
	case TypeSymlink:
		if err := os.Symlink(e.Link, p); err != nil {
			return nil, err
		}
		if x.owner {
			if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
				return nil, err
			}
		}
		tv := []unix.Timeval{unix.NsecToTimeval(h.ModTime.UnixNano()), unix.NsecToTimeval(h.ModTime.UnixNano())}
		if err := unix.Lutimes(p, tv); err != nil && !errors.Is(err, syscall.ENOSYS) {
			return nil, err
		}
	case TypeHardlink:
		return nil, os.Link(x.path(e.Link), p)
	case TypeFile:
		f, err := createFile(p, e.Size)
		if err != nil {
			return nil, err
		}
		x.cur = &fileJob{f: f, meta: metaOf(h, p), q: x.queues[x.next]}
		x.next = (x.next + 1) % len(x.queues)
		return x, nil
	}
	return nil, nil
}

// Write hands the current file's next bytes to its writer.
func (x *extractor) Write(p []byte) (int, error) {
	for off := 0; off < len(p); {
		if err := x.failed(); err != nil {
			return off, err
		}
		buf := <-x.bufs
		n := copy(buf, p[off:])
		x.cur.q <- writeOp{job: x.cur, data: buf[:n]}
		off += n
	}
	return len(p), nil
}

// fileDone implements unpacker: the file's writer closes it and sets its
// mode, owner and times after its last bytes.
func (x *extractor) fileDone(Entry) error {
	x.cur.q <- writeOp{job: x.cur, done: true}
	x.cur = nil
	return x.failed()
}

func (x *extractor) writer(q chan writeOp) {
	defer x.wg.Done()
	for op := range q {
		j := op.job
		if op.data != nil {
			if j.f != nil && x.failed() == nil {
				if _, err := j.f.Write(op.data); err != nil {
					x.fail(err)
				}
			}
			x.bufs <- op.data[:cap(op.data)]
			continue
		}
		if op.done && j.f != nil {
			err := j.f.Close()
			j.f = nil
			if err == nil && x.failed() == nil {
				err = x.apply(j.meta)
			}
			if err != nil {
				x.fail(err)
			}
		}
	}
}

// apply sets mode, owner (as root) and times.
func (x *extractor) apply(m meta) error {
	if x.owner {
		if err := os.Lchown(m.path, m.uid, m.gid); err != nil {
			return err
		}
	}
	if err := os.Chmod(m.path, m.mode); err != nil { // after chown, which clears setuid bits
		return err
	}
	atime := m.atime
	if atime.IsZero() {
		atime = m.mtime
	}
	return os.Chtimes(m.path, atime, m.mtime)
}

// stopWriters ends the writers once their queues are drained.
func (x *extractor) stopWriters() {
	x.stop.Do(func() {
		for _, q := range x.queues {
			close(q)
		}
		x.wg.Wait()
	})
}

// finish implements unpacker: every file written and closed, then the
// directories' modes and times, deepest first (the reverse of archive
// order, where a directory precedes its contents).
func (x *extractor) finish() error {
	x.stopWriters()
	if err := x.failed(); err != nil {
		return err
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.apply(x.dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// abort stops the writers after a failure; the caller removes root.
func (x *extractor) abort() {
	if x.cur != nil {
		x.cur.q <- writeOp{job: x.cur, done: true}
		x.cur = nil
	}
	x.fail(fmt.Errorf("extraction stopped"))
	x.stopWriters()
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}
