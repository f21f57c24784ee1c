package snapshot

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/pierrec/lz4/v4"
)

// copyBufSize is the buffer file contents are hashed and copied through.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// lz4Writer compresses to w in parallel 1 MiB blocks, with block and
// content checksums so any damage to the stored object is detected.
func lz4Writer(w io.Writer) (*lz4.Writer, error) {
	zw := lz4.NewWriter(w)
	err := zw.Apply(
		lz4.BlockSizeOption(lz4.Block1Mb),
		lz4.BlockChecksumOption(true),
		lz4.ChecksumOption(true),
		lz4.CompressionLevelOption(lz4.Fast),
		lz4.ConcurrencyOption(runtime.GOMAXPROCS(0)),
	)
	return zw, err
}

func lz4Reader(r io.Reader) (*lz4.Reader, error) {
	zr := lz4.NewReader(r)
	return zr, zr.Apply(lz4.ConcurrencyOption(runtime.GOMAXPROCS(0)))
}

// counter counts bytes read through it and reports progress every MiB.
type counter struct {
	r        io.Reader
	n        int64
	progress func(int64)
	reported int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && (c.n-c.reported >= 1<<20 || (err == io.EOF && c.n != c.reported)) {
		c.reported = c.n
		c.progress(c.n)
	}
	return n, err
}

// recording is what the Create stage learned from the tar stream.
type recording struct {
	entries    []Entry
	counts     Counts
	bytesRaw   int64
	bytesFiles int64
}

// record reads a tar stream from src, passes every byte of it unchanged to
// dst and describes each entry, hashing regular files on the way. It
// refuses entries a restore would refuse, so a snapshot that cannot be
// restored is never written.
func record(src io.Reader, dst io.Writer, progress func(int64)) (*recording, error) {
	cnt := &counter{r: io.TeeReader(src, dst), progress: progress}
	tr := tar.NewReader(cnt)
	t := newTree()
	rec := &recording{}
	bp := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(bp)
	buf := bp[:]
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar output after %d entries: %w", len(rec.entries), err)
		}
		e, err := entryFromHeader(h)
		if err == nil {
			err = t.admit(e)
		}
		if err != nil {
			return nil, fmt.Errorf("workspace entry %q: %v; a restore would refuse it, so exclude it", h.Name, err)
		}
		switch e.Type {
		case TypeFile:
			sum := md5.New()
			if _, err := io.CopyBuffer(sum, tr, buf); err != nil {
				return nil, fmt.Errorf("reading %q from tar output: %w", e.Path, err)
			}
			e.MD5 = hex.EncodeToString(sum.Sum(nil))
			t.md5[e.Path] = e.MD5
			rec.counts.Files++
			rec.bytesFiles += e.Size
		case TypeHardlink:
			e.MD5 = t.md5[e.Link]
			rec.counts.Hardlinks++
		case TypeDir:
			rec.counts.Dirs++
		case TypeSymlink:
			rec.counts.Symlinks++
		}
		rec.entries = append(rec.entries, e)
	}
	if err := t.finish(); err != nil {
		return nil, fmt.Errorf("%v; a restore would refuse it, so exclude it", err)
	}
	// The end-of-archive blocks and padding go into the snapshot too.
	if _, err := io.CopyBuffer(io.Discard, cnt, buf); err != nil {
		return nil, fmt.Errorf("reading the end of tar output: %w", err)
	}
	rec.bytesRaw = cnt.n
	return rec, nil
}

// filter is Restore's gate between the stored stream and the remote tar.
// For each entry it checks safety and the manifest before forwarding a
// single byte of it, re-emits a clean header, streams the content while
// hashing it, and fails on the first difference. It returns nil only if
// the whole stream matched the manifest to the last byte.
func filter(src io.Reader, dst io.Writer, m *Manifest, progress func(int64)) error {
	cnt := &counter{r: src, progress: progress}
	tr := tar.NewReader(cnt)
	tw := tar.NewWriter(dst)
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
			return fmt.Errorf("snapshot data is damaged: reading the tar stream after %d entries: %w", i, err)
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
		if err := tw.WriteHeader(outHeader(h, e)); err != nil {
			return fmt.Errorf("sending entry %q: %w", e.Path, err)
		}
		if e.Type != TypeFile {
			continue
		}
		sum := md5.New()
		if _, err := io.CopyBuffer(io.MultiWriter(tw, sum), tr, buf); err != nil {
			if errors.Is(err, errRemoteEnded) || errors.Is(err, io.ErrClosedPipe) {
				return fmt.Errorf("sending entry %q: %w", e.Path, err)
			}
			return fmt.Errorf("snapshot data is damaged in entry %q: %w", e.Path, err)
		}
		if got := hex.EncodeToString(sum.Sum(nil)); got != want.MD5 {
			return fmt.Errorf("entry %q: content md5 %s does not match the manifest's %s: the snapshot is corrupt", e.Path, got, want.MD5)
		}
	}
	if i != len(m.Entries) {
		return fmt.Errorf("snapshot data is truncated: the tar stream ended after %d of the manifest's %d entries", i, len(m.Entries))
	}
	if err := t.finish(); err != nil {
		return fmt.Errorf("refused %v", err)
	}
	if err := drainZeros(cnt, buf); err != nil {
		return err
	}
	if cnt.n != m.BytesRaw {
		return fmt.Errorf("snapshot data is damaged: %d bytes of tar, the manifest says %d", cnt.n, m.BytesRaw)
	}
	return tw.Close()
}

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
