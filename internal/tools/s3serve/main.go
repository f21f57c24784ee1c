// Command s3serve runs an in-memory S3 server (rclone/gofakes3) on a
// loopback port, behind the same B2 guard the tests use, for benchmarks
// that compare scn with other S3 clients (aws s3 cp). It prints the
// endpoint and serves until interrupted.
//
//	go run ./internal/tools/s3serve -addr 127.0.0.1:9000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/scnlabs/scn/internal/store/s3test"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	bucket := flag.String("bucket", s3test.Bucket, "bucket to create")
	guard := flag.Bool("b2guard", true, "refuse checksum headers and aws-chunked bodies like Backblaze B2")
	flag.Parse()

	backend := s3mem.New()
	if err := backend.CreateBucket(context.Background(), *bucket); err != nil {
		log.Fatalf("s3serve: create bucket %s: %v", *bucket, err)
	}
	var handler http.Handler = gofakes3.New(backend,
		gofakes3.WithV4Auth(map[string]string{s3test.AccessKeyID: s3test.SecretAccessKey}),
		gofakes3.WithoutVersioning(),
	).Server()
	if *guard {
		handler = s3test.B2Guard(handler)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("s3serve: %v", err)
	}
	fmt.Printf("endpoint=http://%s bucket=%s access_key_id=%s secret_access_key=%s\n",
		ln.Addr(), *bucket, s3test.AccessKeyID, s3test.SecretAccessKey)
	srv := &http.Server{Handler: handler}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		<-stop
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatalf("s3serve: %v", err)
	}
}
