package snapshot

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
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

// walkTar is a tarSource: GNU tar lists the workspace dir (leaving out
// what exclude matches) and every listed entry is written to w as GNU tar
// would write it. A file that changes, grows, shrinks or vanishes while
// it is read fails the stream, as it makes GNU tar exit 1.
func walkTar(dir string, exclude []string) tarSource {
	return func(ctx context.Context, w io.Writer) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops the lister when writing fails
		list := gnuTarList(ctx, dir, exclude)
		stderr := &tailBuffer{max: 4096}
		list.Stderr = stderr
		out, err := list.StdoutPipe()
		if err != nil {
			return err
		}
		if err := list.Start(); err != nil {
			return fmt.Errorf("running tar: %w", err)
		}
		tw := &tarWriter{tw: tar.NewWriter(w), dir: dir, links: map[[2]uint64]string{}}
		werr := tw.each(ctx, out)
		if werr != nil {
			cancel()
		}
		io.Copy(io.Discard, out) // lets tar finish writing its list
		lerr := list.Wait()
		var exit *exec.ExitError
		switch {
		case werr != nil:
			return werr
		case errors.As(lerr, &exit):
			return &exitError{what: "tar", code: exit.ExitCode(), stderr: stderr.String()}
		case lerr != nil:
			return fmt.Errorf("running tar: %w", lerr)
		}
		return tw.tw.Close()
	}
}

// walkError is a workspace entry the agent could not read.
type walkError struct {
	name string
	err  error
}

func (e *walkError) Error() string { return fmt.Sprintf("workspace entry %q: %v", e.name, e.err) }
func (e *walkError) Unwrap() error { return e.err }

// tarWriter writes the listed entries of dir.
type tarWriter struct {
	tw    *tar.Writer
	dir   string
	links map[[2]uint64]string // device and inode of files with more names → the first name
}

// each writes the entry of every name listed on r.
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
		if err := t.entry(name, bp[:]); err != nil {
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
			return t.tw.WriteHeader(h)
		}
		t.links[id] = name
	}
	if !fi.Mode().IsRegular() {
		return t.tw.WriteHeader(h)
	}
	// O_NOFOLLOW: a file swapped for a symlink since Lstat is not followed
	// out of the workspace.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := t.tw.WriteHeader(h); err != nil {
		return err
	}
	// Not f's own WriteTo (a 32 KiB buffer): the pool's 256 KiB one.
	n, err := io.CopyBuffer(t.tw, io.LimitReader(struct{ io.Reader }{f}, h.Size), buf)
	if err != nil {
		return err
	}
	after, err := f.Stat()
	switch {
	case err != nil:
		return err
	case n < h.Size || after.Size() != h.Size || !after.ModTime().Equal(fi.ModTime()):
		return fmt.Errorf("file changed as we read it (%d bytes, then %d; tar would exit 1 too): snapshot a workspace nothing writes to, or exclude it", h.Size, after.Size())
	}
	return nil
}
