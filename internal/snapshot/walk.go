package snapshot

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// The agent's own tar writer. GNU tar decides what a snapshot holds — which
// entries, in which order, what --exclude leaves out — but when the
// archive is /dev/null it only lists them, without reading a byte of
// content; the agent then writes the stream itself, reading each file
// once. Through a tar process every byte was read by tar, written into a
// pipe and read back out of it: about a fifth of the agent's snapshot CPU
// on make bench-snapshot's 2 cores. The stream is what GNU tar writes
// with --format=gnu (the default): the same entries, hard links for a
// file's later names, times in seconds, and it goes through the same
// recorder, so the same workspaces are refused for the same reasons.

// gnuTarList is the GNU tar command that lists what `tar -cf - .` would
// archive under dir, one C-quoted name per line (LC_ALL=C: any byte that
// is not printable ASCII is an octal escape, so every name comes back
// exactly).
func gnuTarList(ctx context.Context, dir string, exclude []string) *exec.Cmd {
	args := []string{"-C", dir}
	for _, p := range exclude {
		args = append(args, "--exclude="+p)
	}
	args = append(args, "--quoting-style=c", "-cvf", os.DevNull, ".")
	cmd := exec.CommandContext(ctx, "tar", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// walkTar is a walkSource: GNU tar lists the workspace dir (leaving out
// what exclude matches) and every listed entry is written to w as GNU tar
// would write it, and recorded. A file that changes, grows, shrinks or
// vanishes while it is read fails the stream, as it makes GNU tar exit 1.
func walkTar(dir string, exclude []string) walkSource {
	return func(ctx context.Context, w io.Writer, rec *recorder, progress func(int64)) (int64, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops the lister when writing fails
		list := gnuTarList(ctx, dir, exclude)
		stderr := remote.NewTail(4096)
		list.Stderr = stderr
		out, err := list.StdoutPipe()
		if err != nil {
			return 0, err
		}
		if err := list.Start(); err != nil {
			return 0, fmt.Errorf("running tar: %w", err)
		}
		tw := newTarWriter(w, dir, rec, progress)
		werr := tw.each(ctx, out)
		if werr != nil {
			cancel()
		}
		io.Copy(io.Discard, out) // lets tar finish writing its list
		lerr := list.Wait()
		var exit *exec.ExitError
		switch {
		case werr != nil:
			return 0, werr
		case errors.As(lerr, &exit):
			return 0, &exitError{what: "tar", code: exit.ExitCode(), stderr: stderr.String()}
		case lerr != nil:
			return 0, fmt.Errorf("running tar: %w", lerr)
		}
		return tw.out.n, tw.end()
	}
}

// walkError is a workspace entry the agent could not read.
type walkError struct {
	name string
	err  error
}

func (e *walkError) Error() string { return fmt.Sprintf("workspace entry %q: %v", e.name, e.err) }
func (e *walkError) Unwrap() error { return e.err }

// tarWriter writes and records the listed entries of dir. archive/tar
// encodes each header (with GNU tar's long-name records); the content
// is read straight into the output's buffers when it can take them
// (io.ReaderFrom: the LZ4 writer's blocks), hashed and counted there,
// so a file's bytes are copied once on their way to the compressor.
type tarWriter struct {
	out   *tarOut
	rec   *recorder
	dir   string
	links map[[2]uint64]string // device and inode of files with more names → the first name
	hdr   bytes.Buffer         // one header's blocks
}

func newTarWriter(w io.Writer, dir string, rec *recorder, progress func(int64)) *tarWriter {
	return &tarWriter{out: &tarOut{w: w, meter: meter{progress: progress}}, rec: rec, dir: dir, links: map[[2]uint64]string{}}
}

// each writes the entry of every name listed on r. An error writing the
// output is returned as it is: the entry is not to blame.
func (t *tarWriter) each(ctx context.Context, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	bp := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(bp)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, err := strconv.Unquote(sc.Text())
		if err != nil {
			return fmt.Errorf("tar listed %s, which is not a C-quoted name: %v", sc.Text(), err)
		}
		var ref *refusal
		switch err := t.entry(name, bp[:]); {
		case err == nil:
		case t.out.err != nil:
			return t.out.err
		case errors.As(err, &ref):
			return err
		default:
			return &walkError{name: name, err: err}
		}
	}
	return sc.Err()
}

// entry writes one entry: its header and, for a file, its content.
func (t *tarWriter) entry(name string, buf []byte) error {
	p := filepath.Join(t.dir, filepath.FromSlash(name))
	fi, err := os.Lstat(p)
	if err != nil {
		return err // vanished since tar listed it
	}
	if fi.Mode()&os.ModeSocket != 0 {
		return nil // GNU tar: "socket ignored"
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name, h.Format = name, tar.FormatGNU
	h.ModTime, h.AccessTime, h.ChangeTime = fi.ModTime().Truncate(time.Second), time.Time{}, time.Time{}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && !fi.IsDir() && st.Nlink > 1 {
		id := [2]uint64{uint64(st.Dev), st.Ino}
		if first, seen := t.links[id]; seen {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			return t.header(h)
		}
		t.links[id] = name
	}
	if !fi.Mode().IsRegular() {
		return t.header(h)
	}
	// O_NOFOLLOW: a file swapped for a symlink since Lstat is not followed
	// out of the workspace.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := t.header(h); err != nil {
		return err
	}
	c := &content{r: io.LimitReader(f, h.Size), sum: t.rec.sum, out: t.out}
	n, err := t.out.readFrom(c, buf)
	switch {
	case c.err != nil:
		return c.err
	case err != nil:
		return err
	}
	after, err := f.Stat()
	switch {
	case err != nil:
		return err
	case n < h.Size || after.Size() != h.Size || !after.ModTime().Equal(fi.ModTime()):
		return fmt.Errorf("file changed as we read it (%d bytes, then %d; tar would exit 1 too): snapshot a workspace nothing writes to, or exclude it", h.Size, after.Size())
	}
	t.rec.fileDone()
	return t.pad(n)
}

// header records h's entry, then writes its blocks.
func (t *tarWriter) header(h *tar.Header) error {
	if err := t.rec.header(h); err != nil {
		return err
	}
	t.hdr.Reset()
	// A Writer per header: it writes the header's blocks at once, and the
	// content it would then expect goes around it.
	if err := tar.NewWriter(&t.hdr).WriteHeader(h); err != nil {
		return err
	}
	_, err := t.out.Write(t.hdr.Bytes())
	return err
}

var tarZeros [2 * tarBlock]byte

const tarBlock = 512 // tar's block: headers and contents fill whole ones

// pad ends n bytes of content at a block's end, as archive/tar does.
func (t *tarWriter) pad(n int64) error {
	if r := n % tarBlock; r != 0 {
		_, err := t.out.Write(tarZeros[:tarBlock-r])
		return err
	}
	return nil
}

// end writes the end of the archive: two zero blocks, as archive/tar's
// Close does.
func (t *tarWriter) end() error {
	_, err := t.out.Write(tarZeros[:])
	if err == nil {
		t.out.add(0, true)
	}
	return err
}

// tarOut is the walker's output: it counts the stream's bytes, reports
// them, and remembers a write error, which is the output's (the store's),
// not the entry's.
type tarOut struct {
	w io.Writer
	meter
	err error
}

func (o *tarOut) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	o.add(n, false)
	if err != nil {
		o.err = err
	}
	return n, err
}

// readFrom copies c to the output: through the output's ReadFrom when it
// has one (io.CopyBuffer prefers it), else through buf.
func (o *tarOut) readFrom(c *content, buf []byte) (int64, error) {
	n, err := io.CopyBuffer(o.w, c, buf)
	if err != nil && c.err == nil {
		o.err = err
	}
	return n, err
}

// content is a file's bytes on their way into the stream: hashed and
// counted in the buffer they were read into. It remembers a read error,
// which is the entry's.
type content struct {
	r   io.Reader
	sum hash.Hash
	out *tarOut
	err error
}

func (c *content) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.sum.Write(p[:n])
	c.out.add(n, false)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}
