package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/store/s3store"
)

// Dummy credentials the S3 server checks and every client signs with.
const (
	s3Bucket = "bench"
	s3KeyID  = "BENCHKEYID"
	s3Secret = "bench-secret-not-a-secret"
	s3Region = "us-east-1"
)

// s3Server is a running s3serve child.
type s3Server struct {
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	lifeline io.WriteCloser // closing it (or our death) stops the server
	admin    *s3store.Store // lists and deletes what a tool stored
	exited   chan struct{}
}

// startS3 starts exe (s3serve) on a free loopback port with the bench
// bucket and waits (bounded) for it to print its endpoint. The server makes
// prefault bytes of memory resident first (see s3serve): enough for the
// largest thing one tool stores, so no tool waits on fresh pages there.
func startS3(ctx context.Context, exe string, prefault int64, stderr io.Writer) (*s3Server, error) {
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("S3 server binary: %w (scripts/bench-snapshot builds it; or set BENCH_S3SERVE)", err)
	}
	cmd := exec.Command(exe, "-bucket", s3Bucket, "-stdin-lifeline", "-prefault", fmt.Sprint(prefault))
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3KeyID, "AWS_SECRET_ACCESS_KEY="+s3Secret)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stopped by us, after the others
	cmd.Stderr = stderr
	lifeline, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the S3 server %s: %w", exe, err)
	}
	s := &s3Server{cmd: cmd, lifeline: lifeline, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()

	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
		io.Copy(io.Discard, out)
	}()
	select {
	case s.Endpoint = <-line:
	case <-time.After(15*time.Second + time.Duration(prefault/(10<<20))*time.Second): // prefault: ≥10 MB/s
	case <-ctx.Done():
	}
	if !strings.HasPrefix(s.Endpoint, "http://") {
		s.stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("the S3 server %s did not come up (it printed %q)", exe, s.Endpoint)
	}
	s.admin, err = s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, Region: s3Region, Bucket: s3Bucket,
		AccessKeyID: s3KeyID, SecretAccessKey: s3Secret, MaxAttempts: 2})
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *s3Server) pid() int { return s.cmd.Process.Pid }

// size is the total size of the objects under prefix.
func (s *s3Server) size(ctx context.Context, prefix string) (int64, error) {
	objs, err := s.admin.List(ctx, prefix)
	var n int64
	for _, o := range objs {
		n += o.Size
	}
	return n, err
}

// clear deletes everything under prefix: the server keeps objects in
// memory, and the next tool should not pay for the last one's.
func (s *s3Server) clear(ctx context.Context, prefix string) error {
	objs, err := s.admin.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := s.admin.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}

// stop ends the server: EOF on its lifeline, then SIGKILL if it lingers.
func (s *s3Server) stop() error {
	s.lifeline.Close()
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("the S3 server did not die")
	}
}
