package snapshot

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Large files restored on the machine come back byte for byte whatever
// the sizes of the writes and of the file (whole blocks, a tail, a file
// just past directMin), and are verified by reading them back; on Linux
// they bypass the page cache unless the filesystem refuses O_DIRECT.
func TestDirectWritesAndReadsBack(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 3*directBufSize+directAlign+17)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, c := range []struct {
		size  int
		chunk int
	}{
		{directMin, directBufSize}, {directMin + 1, 4096}, {directMin + directAlign, 100_000},
		{len(data), 256 << 10}, {len(data) - 17, 7_777}, {2*directBufSize - 1, 1 << 20},
	} {
		p := filepath.Join(dir, "f"+string(rune('a'+c.size%26))+string(rune('a'+c.chunk%26)))
		w, err := createFile(p, int64(c.size))
		if err != nil {
			t.Fatal(err)
		}
		d, isDirect := w.(*directFile)
		if !isDirect && oDirect != 0 {
			// Only a filesystem without direct I/O may get the page cache.
			f, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY|oDirect, 0o600)
			if !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("a %d-byte file was not opened O_DIRECT, though the filesystem takes it (%v)", c.size, err)
			}
			if f != nil {
				f.Close()
			}
		}
		for p := data[:c.size]; len(p) > 0; {
			k := min(c.chunk, len(p))
			if n, err := w.Write(p[:k]); n != k || err != nil {
				t.Fatalf("write: %d of %d, %v", n, k, err)
			}
			p = p[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data[:c.size]) {
			t.Fatalf("size %d in chunks of %d: read back %d bytes, equal %v, %v (direct %v)", c.size, c.chunk, len(got), bytes.Equal(got, data[:c.size]), err, isDirect && d.direct)
		}
		h, _ := newHash(HashXXH3)
		h.Write(data[:c.size])
		want := hex.EncodeToString(h.Sum(nil))
		sum, err := hashFileWith(p, int64(c.size), HashXXH3, make([]byte, copyBufSize))
		if err != nil || sum != want {
			t.Fatalf("size %d: verify read %s, %v; want %s", c.size, sum, err, want)
		}
	}
}
