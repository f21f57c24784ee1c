package lz4frame

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/pierrec/lz4/v4"
)

// stream is every sample back to back, then again: several blocks of
// each kind, a tail shorter than a block.
func stream() []byte {
	var all []byte
	for range 2 {
		for _, s := range samples() {
			all = append(all, s...)
		}
	}
	return all
}

func frame(t testing.TB, data []byte, chunk, concurrency int) []byte {
	t.Helper()
	var out bytes.Buffer
	z := NewWriter(&out, concurrency)
	for p := data; len(p) > 0; {
		k := min(chunk, len(p))
		if n, err := z.Write(p[:k]); n != k || err != nil {
			t.Fatalf("Write: %d of %d, %v", n, k, err)
		}
		p = p[k:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// pierrec's reader, which restores every snapshot, checks the header
// checksum and the content checksum, and gets the input back.
func TestFramesReadBack(t *testing.T) {
	all := stream()
	for _, c := range []struct{ size, chunk, concurrency int }{
		{0, 1, 1}, {1, 1, 2}, {BlockSize - 1, 4096, 2}, {BlockSize, BlockSize, 3},
		{BlockSize + 1, 7, 8}, {len(all), 256 << 10, 4}, {len(all), 3 * BlockSize, 1},
	} {
		data := all[:c.size]
		z := frame(t, data, c.chunk, c.concurrency)
		got, err := io.ReadAll(lz4.NewReader(bytes.NewReader(z)))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%+v: read back %d of %d bytes, %v", c, len(got), len(data), err)
		}
	}
}

// ReadFrom, which reads straight into the blocks, writes the very frame
// Write does, whatever the sizes of the reads, Writes mixed in between;
// a read error stops it and is returned as it is.
func TestReadFromWritesTheSameFrame(t *testing.T) {
	all := stream()
	want := frame(t, all, 256<<10, 2)
	for name, r := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(all) },
		"halves":   func() io.Reader { return iotest.HalfReader(bytes.NewReader(all)) },
		"odd":      func() io.Reader { return &cappedReader{r: bytes.NewReader(all), max: 4099} },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(all[:3*BlockSize+5])) },
	} {
		var out bytes.Buffer
		z := NewWriter(&out, 2)
		n, err := z.ReadFrom(r())
		if cerr := z.Close(); err == nil {
			err = cerr
		}
		w := want
		if name == "one byte" {
			w = frame(t, all[:3*BlockSize+5], 4096, 2)
		}
		if err != nil || !bytes.Equal(out.Bytes(), w) {
			t.Errorf("%s: ReadFrom read %d bytes, %v; its frame differs from Write's: %v", name, n, err, !bytes.Equal(out.Bytes(), w))
		}
	}
	var out bytes.Buffer
	z := NewWriter(&out, 2)
	z.Write(all[:100])
	z.ReadFrom(bytes.NewReader(all[100 : BlockSize+7]))
	z.Write(all[BlockSize+7 : 2*BlockSize])
	z.Close()
	if !bytes.Equal(out.Bytes(), frame(t, all[:2*BlockSize], 4096, 2)) {
		t.Error("Writes and ReadFroms mixed: the frame differs from Write's")
	}
	boom := errors.New("disk read error")
	z = NewWriter(io.Discard, 2)
	if _, err := z.ReadFrom(io.MultiReader(bytes.NewReader(all[:BlockSize+1]), iotest.ErrReader(boom))); err != boom {
		t.Errorf("ReadFrom of a failing reader = %v; want its error", err)
	}
	z.Close()
}

// The lz4 tool (the format's reference, and what a person restoring by
// hand runs) reads the frames; its `-1` writes frames the same size, give
// or take 1%: the compressor is the reference's fast scan.
func TestLZ4ToolReadsFramesAndAgreesOnSize(t *testing.T) {
	tool := lz4Tool(t)
	dir := t.TempDir()
	data := stream()
	in, ours := filepath.Join(dir, "in"), filepath.Join(dir, "ours.lz4")
	os.WriteFile(in, data, 0o644)
	os.WriteFile(ours, frame(t, data, 1<<20, 2), 0o644)
	got, err := exec.Command(tool, "-d", "-c", ours).Output()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("lz4 -d: %d of %d bytes, %v", len(got), len(data), err)
	}
	theirs, err := exec.Command(tool, "-1", "-B6", "-c", in).Output()
	if err != nil {
		t.Fatal(err)
	}
	o, _ := os.Stat(ours)
	if float64(o.Size()) > 1.01*float64(len(theirs)) {
		t.Errorf("our frame is %d bytes, lz4 -1's %d", o.Size(), len(theirs))
	}
}

// A flipped byte anywhere in a stored block is caught by the content
// checksum, by the lz4 tool as by pierrec's reader.
func TestDamageIsDetected(t *testing.T) {
	data := samples()["random"] // stored raw: a flip decodes "fine"
	z := frame(t, data, len(data), 1)
	bad := append([]byte(nil), z...)
	bad[len(bad)/2] ^= 1
	if _, err := io.ReadAll(lz4.NewReader(bytes.NewReader(bad))); err == nil {
		t.Error("pierrec read a damaged frame without error")
	}
	cmd := exec.Command("lz4", "-t")
	cmd.Stdin = bytes.NewReader(bad)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("lz4 -t passed a damaged frame: %s", out)
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// When w fails, Write and Close return its error instead of blocking,
// and nothing after the failure is written.
func TestWriteErrorStopsTheFrame(t *testing.T) {
	z := NewWriter(&failAfter{n: 3 * BlockSize / 2}, 2)
	data := samples()["random"]
	var err error
	for i := 0; i < 64 && err == nil; i++ {
		_, err = z.Write(data)
	}
	if cerr := z.Close(); err == nil || cerr == nil || cerr.Error() != "disk full" {
		t.Fatalf("Write: %v, Close: %v; want disk full", err, cerr)
	}
	if _, err := z.Write([]byte{1}); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func BenchmarkWriter(b *testing.B) {
	data := stream()
	b.Run("scn", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			z := NewWriter(io.Discard, 2)
			z.Write(data)
			z.Close()
		}
	})
	b.Run("pierrec", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			z := lz4.NewWriter(io.Discard)
			z.Apply(lz4.BlockSizeOption(lz4.Block1Mb), lz4.ChecksumOption(true), lz4.ConcurrencyOption(2))
			z.Write(data)
			z.Close()
		}
	})
}

// lz4Tool is the lz4 command line tool, the format's reference.
func lz4Tool(t *testing.T) string {
	t.Helper()
	tool, err := exec.LookPath("lz4")
	if err != nil {
		t.Fatal("the lz4 tool is not installed: make test installs it (scripts/deps)")
	}
	return tool
}

// cappedReader returns at most max bytes per Read: reads that end at no
// block boundary.
type cappedReader struct {
	r   io.Reader
	max int
}

func (c *cappedReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.max)]) }
