package snapshot

import (
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// A restore on the machine writes large files, and reads them back to
// verify them, with O_DIRECT where the filesystem allows it (Linux):
//
//   - Writing through the page cache costs the kernel a copy into memory
//     it must first find: on a VM whose memory the host has not yet backed
//     that is 3.4 CPU-s per GiB (dd on the bench's VM: 3.4 s of system time
//     buffered, 0.09 s with O_DIRECT), and a 100 GB restore would fill the
//     page cache, then wait on its writeback, on a machine about to train.
//   - Reading back through the page cache checks the cache scn just filled,
//     not the disk: O_DIRECT reads what the device holds.
//
// Small files (most of a workspace's count, little of its bytes) keep the
// page cache: a direct write of each would wait on the device.
const (
	directMin     = 1 << 20 // files this large go around the page cache
	directAlign   = 4096    // offsets, lengths and buffers: any device's logical block divides it
	directBufSize = 1 << 20 // per writer: what one direct write carries
)

var directBufs = sync.Pool{New: func() any { b := alignedBuf(directBufSize); return &b }}

// alignedBuf is n bytes starting at a multiple of directAlign, as O_DIRECT
// requires of the memory it transfers.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (directAlign - 1))
	return b[off : off+n : off+n]
}

// directFile gathers a file's content into aligned blocks written with
// O_DIRECT; the tail shorter than a block goes through the page cache at
// Close. Its buffer is taken at the first Write, by the extractor's writer
// goroutine, so there are at most as many as writers.
type directFile struct {
	f      *os.File
	bp     *[]byte
	n      int  // bytes buffered
	direct bool // still O_DIRECT: a filesystem may refuse it at the first write
}

func (d *directFile) Write(p []byte) (int, error) {
	if d.bp == nil {
		d.bp = directBufs.Get().(*[]byte)
	}
	buf := *d.bp
	written := 0
	for len(p) > 0 {
		k := copy(buf[d.n:], p)
		d.n, p, written = d.n+k, p[k:], written+k
		if d.n == len(buf) {
			if err := d.flush(d.n); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush writes the first k buffered bytes (whole blocks) and keeps the rest.
func (d *directFile) flush(k int) error {
	if k == 0 {
		return nil
	}
	buf := *d.bp
	_, err := d.f.Write(buf[:k])
	if d.direct && errors.Is(err, syscall.EINVAL) {
		// Refused before a byte was written: through the page cache, then.
		if err = clearDirect(d.f); err == nil {
			d.direct = false
			_, err = d.f.Write(buf[:k])
		}
	}
	if err != nil {
		return err
	}
	d.n = copy(buf, buf[k:d.n])
	return nil
}

// Close writes the whole blocks left, then the tail without O_DIRECT.
func (d *directFile) Close() error {
	var err error
	if d.bp != nil {
		err = d.flush(d.n &^ (directAlign - 1))
		if err == nil && d.n > 0 {
			if d.direct {
				err = clearDirect(d.f)
			}
			if err == nil {
				_, err = d.f.Write((*d.bp)[:d.n])
			}
		}
		directBufs.Put(d.bp)
		d.bp = nil
	}
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// createFile makes a new file for the extractor (O_EXCL|O_NOFOLLOW, see
// extractor): with O_DIRECT when it is large and the filesystem takes it.
func createFile(p string, size int64) (io.WriteCloser, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL | syscall.O_NOFOLLOW
	if size >= directMin && oDirect != 0 {
		f, err := os.OpenFile(p, flags|oDirect, 0o600)
		if err == nil {
			return &directFile{f: f, direct: true}, nil
		}
		if !errors.Is(err, syscall.EINVAL) { // EINVAL: no direct I/O here
			return nil, err
		}
	}
	return os.OpenFile(p, flags, 0o600)
}

// hashFileWith hashes the file at path with alg; size (the manifest's)
// decides whether it is read with O_DIRECT.
func hashFileWith(path string, size int64, alg string, buf []byte) (string, error) {
	if size >= directMin && oDirect != 0 {
		sum, err := readHash(path, oDirect, alg, nil)
		if !errors.Is(err, syscall.EINVAL) {
			return sum, err
		}
	}
	return readHash(path, 0, alg, buf)
}

// readHash reads path opened with flags through buf (an aligned one of
// directBufs when buf is nil).
func readHash(path string, flags int, alg string, buf []byte) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|flags, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h, err := newHash(alg)
	if err != nil {
		return "", err
	}
	if buf == nil {
		bp := directBufs.Get().(*[]byte)
		defer directBufs.Put(bp)
		buf = *bp
	}
	for {
		n, err := f.Read(buf) // not io.Copy: File.WriteTo would use a buffer of its own
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}
