package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchWorkspace builds a workspace of about SCN_BENCH_MB MiB (default 256):
// one large semi-compressible file, plus 2,000 small files in 20 dirs.
func benchWorkspace(b *testing.B) (string, int64) {
	mb := int64(256)
	if v, err := strconv.ParseInt(os.Getenv("SCN_BENCH_MB"), 10, 64); err == nil && v > 0 {
		mb = v
	}
	root := filepath.Join(b.TempDir(), "workspace")
	bigFile(b, filepath.Join(root, "model.bin"), mb<<20-2000*4096)
	small := make([]byte, 4096)
	for i := 0; i < 2000; i++ {
		for j := range small {
			small[j] = byte(i + j*j)
		}
		writeFile(b, filepath.Join(root, fmt.Sprintf("runs/%02d/log-%04d.txt", i%20, i)), small, 0o644)
	}
	return root, mb << 20
}

func BenchmarkSnapshotCreate(b *testing.B) {
	src, size := benchWorkspace(b)
	st := dirStore(b)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Create(testCtx(b), CreateOptions{Exec: sh, Path: src, Name: fmt.Sprintf("bench-%d", i), Store: st}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshotRestore(b *testing.B) {
	src, size := benchWorkspace(b)
	st := dirStore(b)
	if _, err := Create(testCtx(b), CreateOptions{Exec: sh, Path: src, Name: "bench", Store: st}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := filepath.Join(b.TempDir(), "restored")
		if _, err := Restore(testCtx(b), RestoreOptions{Exec: sh, Store: st, Name: "bench", Path: dst}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArchive is the agent's side of a snapshot (walk, hash, LZ4)
// with a store that reads the stream and keeps nothing: what the machine
// spends per byte before the network.
func BenchmarkArchive(b *testing.B) {
	src, size := benchWorkspace(b)
	put := func(_ context.Context, r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Archive(testCtx(b), ArchiveOptions{Path: src, Hash: HashXXH3, Put: put}); err != nil {
			b.Fatal(err)
		}
	}
}
