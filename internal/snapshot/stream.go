package snapshot

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/pierrec/lz4/v4"
	"github.com/scnlabs/scn/internal/lz4frame"
)

// copyBufSize is the buffer file contents are hashed and copied through.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// lz4Concurrency is how many blocks LZ4 works on at once: every core, up
// to 8 (some 4 GB/s, more than any link to a store), so a 128-core GPU
// host does not spend 256 MiB on blocks in flight.
func lz4Concurrency() int { return min(runtime.GOMAXPROCS(0), 8) }

// lz4Writer compresses to w as one LZ4 frame in parallel 1 MiB blocks,
// with the content checksum the lz4 tool checks (package lz4frame says
// why scn writes frames itself; pierrec/lz4 reads them).
func lz4Writer(w io.Writer) *lz4frame.Writer { return lz4frame.NewWriter(w, lz4Concurrency()) }

func lz4Reader(r io.Reader) (*lz4.Reader, error) {
	zr := lz4.NewReader(r)
	return zr, zr.Apply(lz4.ConcurrencyOption(lz4Concurrency()))
}

// meter counts a stream's bytes and reports them to progress (when set)
// every MiB and at the end.
type meter struct {
	n        int64
	reported int64
	progress func(int64)
}

// add counts k more bytes; end says the stream is over.
func (m *meter) add(k int, end bool) {
	m.n += int64(k)
	if m.progress != nil && (m.n-m.reported >= 1<<20 || (end && m.n != m.reported)) {
		m.reported = m.n
		m.progress(m.n)
	}
}

// counter counts bytes read through it.
type counter struct {
	r io.Reader
	meter
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(n, err == io.EOF)
	return n, err
}

// unpacker receives a restore's entries once the filter checked them, in
// archive order: the remote tar's input (tarSink) or the agent's own
// extraction (extractor).
type unpacker interface {
	// entry takes entry e (h is its header, checked); for a file, the
	// returned writer receives its content.
	entry(h *tar.Header, e Entry) (io.Writer, error)
	// fileDone follows a file's content once it matched the manifest.
	fileDone(e Entry) error
	// finish follows the last entry once the whole stream matched.
	finish() error
	// verb says what the unpacker does with an entry, for errors.
	verb() string
}

// filter is Restore's gate between the stored stream and the remote tar:
// filterTo with a tarSink writing a clean archive to dst.
func filter(src io.Reader, dst io.Writer, m *Manifest, progress func(int64)) error {
	return filterTo(src, tarSink{tar.NewWriter(dst)}, m, progress)
}

// filterTo checks each entry for safety and against the manifest before
// handing a single byte of it to u, streams the content while hashing it,
// and fails on the first difference. It returns nil only if the whole
// stream matched the manifest to the last byte.
func filterTo(src io.Reader, u unpacker, m *Manifest, progress func(int64)) error {
	sum, err := newHash(m.HashAlgorithm)
	if err != nil {
		return err
	}
	cnt := &counter{r: src, meter: meter{progress: progress}}
	tr := tar.NewReader(cnt)
	t := newTree()
	bp := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(bp)
	buf := bp[:]
	i := 0
	for ; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return damaged("snapshot data is damaged: reading the tar stream after %d entries: %w", i, err)
		}
		e, err := entryFromHeader(h)
		if err == nil {
			err = t.admit(e)
		}
		if err != nil {
			return fmt.Errorf("refused entry %q: %v", h.Name, err)
		}
		if i >= len(m.Entries) {
			return fmt.Errorf("entry %q is not in the manifest, which lists %d entries", e.Path, len(m.Entries))
		}
		want := m.Entries[i]
		if diff := sameEntry(e, want); diff != "" {
			return fmt.Errorf("entry %d %q does not match the manifest: %s", i, e.Path, diff)
		}
		w, err := u.entry(h, e)
		if err != nil {
			return fmt.Errorf("%s entry %q: %w", u.verb(), e.Path, err)
		}
		if e.Type != TypeFile {
			continue
		}
		sum.Reset()
		dst := &writeErr{w: w}
		if _, err := io.CopyBuffer(io.MultiWriter(dst, sum), tr, buf); err != nil {
			if dst.err != nil {
				return fmt.Errorf("%s entry %q: %w", u.verb(), e.Path, dst.err)
			}
			return damaged("snapshot data is damaged in entry %q: %w", e.Path, err)
		}
		if got := hex.EncodeToString(sum.Sum(nil)); got != want.Digest() {
			return damaged("entry %q: content %s %s does not match the manifest's %s: the snapshot is corrupt",
				e.Path, algorithm(m.HashAlgorithm), got, want.Digest())
		}
		if err := u.fileDone(e); err != nil {
			return fmt.Errorf("%s entry %q: %w", u.verb(), e.Path, err)
		}
	}
	if i != len(m.Entries) {
		return damaged("snapshot data is truncated: the tar stream ended after %d of the manifest's %d entries", i, len(m.Entries))
	}
	if err := t.finish(); err != nil {
		return fmt.Errorf("refused %v", err)
	}
	if err := drainZeros(cnt, buf); err != nil {
		return err
	}
	if cnt.n != m.BytesRaw {
		return damaged("snapshot data is damaged: %d bytes of tar, the manifest says %d", cnt.n, m.BytesRaw)
	}
	return u.finish()
}

// writeErr remembers its writer's error, which filterTo reports as the
// unpacker's, not as damage in the snapshot.
type writeErr struct {
	w   io.Writer
	err error
}

func (w *writeErr) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// tarSink re-emits the checked entries as a clean archive for the remote tar.
type tarSink struct{ tw *tar.Writer }

func (s tarSink) entry(h *tar.Header, e Entry) (io.Writer, error) {
	return s.tw, s.tw.WriteHeader(outHeader(h, e))
}
func (tarSink) fileDone(Entry) error { return nil }
func (s tarSink) finish() error      { return s.tw.Close() }
func (tarSink) verb() string         { return "sending" }

// drainZeros reads the rest of r (tar padding after the end-of-archive
// marker, and to the end of the LZ4 frame, whose checksum the reader then
// checks) and fails on anything but zeros.
func drainZeros(r io.Reader, buf []byte) error {
	for {
		n, err := r.Read(buf)
		if len(bytes.Trim(buf[:n], "\x00")) != 0 {
			return fmt.Errorf("snapshot data is damaged: data after the end of the tar archive")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("snapshot data is damaged: %w", err)
		}
	}
}

// outHeader rebuilds a header from the checked fields only, dropping any
// extended records (a PAX "path" could otherwise rename the entry).
func outHeader(h *tar.Header, e Entry) *tar.Header {
	out := &tar.Header{
		Name:    "./" + e.Path,
		Mode:    h.Mode & 0o7777,
		Uid:     h.Uid,
		Gid:     h.Gid,
		Uname:   h.Uname,
		Gname:   h.Gname,
		ModTime: h.ModTime,
	}
	switch e.Type {
	case TypeFile:
		out.Typeflag, out.Size = tar.TypeReg, e.Size
	case TypeDir:
		out.Typeflag = tar.TypeDir
		out.Name += "/"
	case TypeSymlink:
		out.Typeflag, out.Linkname = tar.TypeSymlink, e.Link
	case TypeHardlink:
		out.Typeflag, out.Linkname = tar.TypeLink, "./"+e.Link
	}
	if e.Path == "." {
		out.Name = "./"
	}
	return out
}
