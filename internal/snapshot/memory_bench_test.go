package snapshot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/store/s3test"
)

// BenchmarkSnapshotMemory prints what Create and Restore hold in memory on
// this machine — the figures the package doc used to hard-code — on an
// incompressible workspace of SCN_BENCH_MB MiB (default 256): enough to
// fill every buffer of both pipelines (the S3 upload's Concurrency+2
// parts need about 100 MiB of compressed data), so a bigger one only takes
// longer. Each case runs with the store's defaults and scn's memory limit,
// as cmd/scn does, and reports:
//
//	peak-heap-MiB   the most heap the runtime held during the operation,
//	                above what it held before (sampled every millisecond)
//	peak-RSS-MiB    this process's resident peak during the operation
//	                (Linux), the test binary's own share included
//	manifest-B/entry (entries case) what one file or directory costs in
//	                the manifest, the part that grows with the workspace
//
// next to the usual MB/s and B/op. The S3 server runs in a process of its
// own (this test binary, see serveS3IfChild), so the objects it keeps are
// not counted. Run it with make bench, or alone:
//
//	go test -run '^$' -bench SnapshotMemory -benchmem ./internal/snapshot
func BenchmarkSnapshotMemory(b *testing.B) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit))
	src, size := randomWorkspace(b)
	stores := []struct {
		name string
		st   store.Store
	}{{"dir", dirStore(b)}, {"s3", s3Process(b)}}

	for _, s := range stores {
		b.Run("create/"+s.name, func(b *testing.B) {
			b.SetBytes(size)
			measureMemory(b, func(i int) error {
				_, err := Create(testCtx(b), CreateOptions{Exec: sh, Path: src, Name: fmt.Sprintf("mem-%d", i), Store: s.st})
				return err
			}, func(i int) error {
				_, err := Delete(testCtx(b), s.st, fmt.Sprintf("mem-%d", i))
				return err
			})
		})
	}
	for _, s := range stores {
		if _, err := Create(testCtx(b), CreateOptions{Exec: sh, Path: src, Name: "mem-restore", Store: s.st}); err != nil {
			b.Fatal(err)
		}
		b.Run("restore/"+s.name, func(b *testing.B) {
			b.SetBytes(size)
			dst := filepath.Join(b.TempDir(), "restored")
			measureMemory(b, func(int) error {
				_, err := Restore(testCtx(b), RestoreOptions{Exec: sh, Store: s.st, Name: "mem-restore", Path: dst})
				return err
			}, func(int) error { return os.RemoveAll(dst) })
		})
	}

	b.Run("entries", func(b *testing.B) {
		root, entries := manyEntries(b, 20, 2500)
		st := dirStore(b)
		var perEntry float64
		measureMemory(b, func(i int) error {
			before := liveHeap()
			m, err := Create(testCtx(b), CreateOptions{Exec: sh, Path: root, Name: fmt.Sprintf("entries-%d", i), Store: st})
			if err == nil {
				if len(m.Entries) != entries+1 { // the root directory is an entry too
					return fmt.Errorf("manifest lists %d entries, want %d", len(m.Entries), entries+1)
				}
				perEntry = float64(liveHeap()-before) / float64(len(m.Entries))
				runtime.KeepAlive(m)
			}
			return err
		}, nil)
		b.ReportMetric(perEntry, "manifest-B/entry")
	})
}

// measureMemory runs op b.N times, each from a collected heap and a reset
// RSS peak, with after (if any) between runs off the clock, and reports the
// largest peaks.
func measureMemory(b *testing.B, op, after func(i int) error) {
	var heap, rss uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := startProbe()
		b.StartTimer()
		err := op(i)
		b.StopTimer()
		h, r := p.stop()
		heap, rss = max(heap, h), max(rss, r)
		if err != nil {
			b.Fatal(err)
		}
		if after != nil {
			if err := after(i); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	if rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

// probe samples the heap while one operation runs.
type probe struct {
	base uint64
	peak uint64
	quit chan struct{}
	done sync.WaitGroup
}

// heapSample is the runtime's count of bytes in heap objects, live or
// not yet swept: what the process holds for its heap right now.
var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapNow() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}

func startProbe() *probe {
	debug.FreeOSMemory() // a full collection, and freed pages go back: RSS starts from the live set
	resetPeakRSS()
	p := &probe{base: heapNow(), quit: make(chan struct{})}
	p.peak = p.base
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			p.peak = max(p.peak, heapNow())
			select {
			case <-p.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// stop returns the heap peak above the start and the RSS peak (0 when
// the system does not say).
func (p *probe) stop() (heap, rss uint64) {
	close(p.quit)
	p.done.Wait()
	return p.peak - p.base, peakRSS()
}

// liveHeap is the live heap after full collections (twice: sync.Pool
// keeps its buffers through one).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// resetPeakRSS lowers this process's VmHWM to its current RSS (Linux ≥ 4.0).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM from /proc/self/status in bytes, 0 if unknown.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// randomWorkspace is SCN_BENCH_MB MiB (default 256) of incompressible
// shards and 1,000 small files: LZ4 cannot shrink it, so the stored object
// is as big as the workspace and every upload and download buffer fills.
func randomWorkspace(b *testing.B) (string, int64) {
	mb := int64(256)
	if v, err := strconv.ParseInt(os.Getenv("SCN_BENCH_MB"), 10, 64); err == nil && v > 0 {
		mb = v
	}
	root := filepath.Join(b.TempDir(), "workspace")
	small := make([]byte, 4096)
	for i := 0; i < 1000; i++ {
		for j := range small {
			small[j] = byte(i + j*j)
		}
		writeFile(b, filepath.Join(root, fmt.Sprintf("logs/%02d/step-%04d.txt", i%10, i)), small, 0o644)
	}
	rest := mb<<20 - 1000*4096
	for i := int64(0); i < 4; i++ {
		f, err := os.Create(filepath.Join(root, fmt.Sprintf("shard-%d.bin", i)))
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.CopyN(f, rand.NewChaCha8([32]byte{byte(i)}), rest/4)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return root, mb << 20
}

// manyEntries is dirs directories of perDir empty files each; it returns
// the root and the number of entries below it.
func manyEntries(b *testing.B, dirs, perDir int) (string, int) {
	root := filepath.Join(b.TempDir(), "entries")
	for d := 0; d < dirs; d++ {
		dir := filepath.Join(root, fmt.Sprintf("run-%03d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := 0; f < perDir; f++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("checkpoint-step-%06d.json", f)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return root, dirs * (perDir + 1)
}

// s3ChildEnv makes this test binary an S3 server (serveS3IfChild).
const s3ChildEnv = "SCN_SNAPSHOT_TEST_S3_SERVER"

// serveS3IfChild serves, when this process was started as s3Process's
// child, the S3 of s3test (gofakes3 in memory behind the B2 guard, the
// same credentials) over plain HTTP on 127.0.0.1 until its stdin closes:
// the parent's death closes it too, so the server cannot outlive it.
func serveS3IfChild() {
	if os.Getenv(s3ChildEnv) == "" {
		return
	}
	backend := s3mem.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		err = backend.CreateBucket(context.Background(), s3test.Bucket)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "S3 server:", err)
		os.Exit(1)
	}
	faker := gofakes3.New(backend, gofakes3.WithoutVersioning(),
		gofakes3.WithV4Auth(map[string]string{s3test.AccessKeyID: s3test.SecretAccessKey}))
	fmt.Printf("http://%s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Fprintln(os.Stderr, "S3 server:", http.Serve(ln, s3test.B2Guard(faker.Server())))
	os.Exit(1)
}

// s3Process starts the S3 server child and returns an S3 store on it with
// scn's defaults (part size, parts in flight).
func s3Process(b *testing.B) store.Store {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), s3ChildEnv+"=1")
	cmd.Stderr = os.Stderr
	lifeline, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		lifeline.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	var endpoint string
	select {
	case endpoint = <-line:
	case <-time.After(30 * time.Second):
	}
	if !strings.HasPrefix(endpoint, "http://") {
		b.Fatalf("the S3 server child did not print its endpoint (got %q)", endpoint)
	}
	st, err := s3store.New(context.Background(), s3store.Config{Endpoint: endpoint, Bucket: s3test.Bucket, Prefix: "bench",
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey})
	if err != nil {
		b.Fatal(err)
	}
	return st
}
