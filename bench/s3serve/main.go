// Command s3serve runs a throwaway S3 server on the loopback interface for
// benchmarks and manual tries: rclone's gofakes3 protocol layer over an
// in-memory backend of its own, plain HTTP, path-style buckets, SigV4
// checked against the credentials in AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY (the same variables the clients read; without them
// any signature is accepted). It prints its endpoint (http://127.0.0.1:PORT)
// as the first line on stdout once it accepts connections, and serves until
// SIGINT/SIGTERM, or, with -stdin-lifeline, until its stdin reaches EOF: a
// parent that holds the other end of a pipe cannot leak the server, even
// when it is killed outright.
//
// The backend is built to cost the clients it serves as little as possible,
// and the same per byte whoever they are: objects are kept as lists of
// 1 MiB chunks from a pool that never returns memory (warmed with
// -prefault), so a multipart upload is not copied again when completed and
// no upload waits for fresh pages; see pool. The server holds everything
// stored in it: delete what you no longer need. scripts/bench-snapshot
// starts one.
//
//	s3serve -bucket bench [-bucket other] [-prefault 1G] [-addr 127.0.0.1:9000] [-stdin-lifeline] [-v]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rclone/gofakes3"
)

type bucketList []string

func (b *bucketList) String() string     { return strings.Join(*b, ",") }
func (b *bucketList) Set(v string) error { *b = append(*b, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("s3serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	var buckets bucketList
	fs.Var(&buckets, "bucket", "bucket to create at start (repeatable)")
	lifeline := fs.Bool("stdin-lifeline", false, "exit when stdin reaches EOF")
	verbose := fs.Bool("v", false, "log every request to stderr")
	prefault := fs.String("prefault", "0", "memory to make resident before serving (e.g. 1G), for uploads of that size at full speed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := checkLoopback(*addr); err != nil {
		fmt.Fprintf(stderr, "s3serve: -addr %s: %v\n", *addr, err)
		return 2
	}
	warm, err := parseSize(*prefault)
	if err != nil {
		fmt.Fprintf(stderr, "s3serve: -prefault %s: %v\n", *prefault, err)
		return 2
	}
	handler, be, err := newHandler(buckets, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), *verbose)
	if err != nil {
		fmt.Fprintf(stderr, "s3serve: %v\n", err)
		return 1
	}
	if warm > 0 {
		start := time.Now()
		if err := be.pool.prefault(warm); err != nil {
			fmt.Fprintf(stderr, "s3serve: -prefault: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "s3serve: %d MiB resident in %.1fs\n", warm>>20, time.Since(start).Seconds())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "s3serve: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *lifeline {
		go func() {
			io.Copy(io.Discard, stdin)
			stop()
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintf(stderr, "s3serve: %v\n", err)
		return 1
	}
	// In-flight requests get a moment; the objects are gone anyway.
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "s3serve: shutdown: %v\n", err)
	}
	return 0
}

// newHandler is the S3 API over a fresh in-memory backend holding buckets.
func newHandler(buckets []string, keyID, secret string, verbose bool) (http.Handler, *backend, error) {
	be := newBackend()
	for _, b := range buckets {
		if err := be.CreateBucket(context.Background(), b); err != nil {
			return nil, nil, fmt.Errorf("creating bucket %q: %w", b, err)
		}
	}
	opts := []gofakes3.Option{gofakes3.WithoutVersioning()}
	if keyID != "" && secret != "" {
		opts = append(opts, gofakes3.WithV4Auth(map[string]string{keyID: secret}))
	}
	if verbose {
		opts = append(opts, gofakes3.WithGlobalLog())
	}
	return gofakes3.New(be, opts...).Server(), be, nil
}

// parseSize reads 512M, 1G, 1.5G or a byte count (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, errors.New("want a size like 512M or 1G")
	}
	return int64(f * mult), nil
}

// checkLoopback refuses to serve an unauthenticated-by-design store beyond
// this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("only loopback addresses are served (127.0.0.1, ::1, localhost)")
	}
	return nil
}
