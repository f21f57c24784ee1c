// Command snapbench times one snapshot Create and one Restore of a local
// directory through remote.Shell against an S3 endpoint (e.g. s3serve) and
// prints seconds, throughput and the process's peak RSS, for comparison
// with `tar | lz4 -1 | aws s3 cp -`.
//
//	snapbench -endpoint http://127.0.0.1:9000 -src /data/ws -dst /data/out
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3test"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint (s3serve's)")
	src := flag.String("src", "", "directory to snapshot")
	dst := flag.String("dst", "", "directory to restore into")
	name := flag.String("name", fmt.Sprintf("bench-%d", time.Now().Unix()), "snapshot name")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	st, err := store.NewS3(ctx, store.S3Config{Endpoint: *endpoint, Bucket: s3test.Bucket,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey})
	if err != nil {
		log.Fatal(err)
	}
	start, cpu := time.Now(), cpuSeconds()
	m, err := snapshot.Create(ctx, snapshot.CreateOptions{Exec: remote.Shell{}, Path: *src, Name: *name, Store: st})
	if err != nil {
		log.Fatal(err)
	}
	created := time.Since(start)
	fmt.Printf("create:  %.2fs (cpu %.2fs)  %.0f MB/s  raw %d  stored %d (ratio %.2f)  peak RSS %d MiB\n",
		created.Seconds(), cpuSeconds()-cpu, float64(m.BytesRaw)/1e6/created.Seconds(), m.BytesRaw, m.BytesStored, m.Ratio, peakRSS())
	if *profile != "" {
		pprof.StopCPUProfile()
		f, _ := os.Create(*profile + ".restore")
		pprof.StartCPUProfile(f)
	}
	start, cpu = time.Now(), cpuSeconds()
	res, err := snapshot.Restore(ctx, snapshot.RestoreOptions{Exec: remote.Shell{}, Store: st, Name: *name, Path: *dst})
	if err != nil {
		log.Print(err)
		return
	}
	restored := time.Since(start)
	if *profile != "" {
		f, _ := os.Create(*profile + ".heap")
		pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	fmt.Printf("restore: %.2fs (cpu %.2fs)  %.0f MB/s  files %d  peak RSS %d MiB\n",
		restored.Seconds(), cpuSeconds()-cpu, float64(m.BytesRaw)/1e6/restored.Seconds(), res.Files, peakRSS())
}

// cpuSeconds is the user+system time of this process and its finished
// children (the local tar processes): the work done, whatever the load.
func cpuSeconds() float64 {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func peakRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss / 1024 // KiB on Linux
}
