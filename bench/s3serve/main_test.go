package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3store"
)

const (
	testKeyID  = "TESTKEY"
	testSecret = "test-secret"
)

// startServer runs the command in-process with a stdin lifeline and returns
// its endpoint and a function that cuts the lifeline and waits for the exit
// code.
func startServer(t *testing.T, args ...string) (string, func() int) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	stdinR, stdinW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(append(args, "-stdin-lifeline"), stdinR, outW, &stderr)
		outW.Close()
	}()
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(outR).ReadString('\n')
		lines <- strings.TrimSpace(l)
		io.Copy(io.Discard, outR)
	}()
	var endpoint string
	select {
	case endpoint = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatal("no endpoint printed within 10s")
	}
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q, stderr %q", endpoint, stderr.String())
	}
	stopped := false
	stop := func() int {
		stopped = true
		stdinW.Close()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("server did not exit within 10s of its stdin closing")
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return endpoint, stop
}

func newStore(t *testing.T, endpoint, secret string) *s3store.Store {
	t.Helper()
	s, err := s3store.New(context.Background(), s3store.Config{Endpoint: endpoint, Bucket: "b1",
		AccessKeyID: testKeyID, SecretAccessKey: secret, MaxAttempts: 1, PartSize: s3store.MinPartSize})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServesMultipartRoundTripAndStopsOnLifeline(t *testing.T) {
	endpoint, stop := startServer(t, "-bucket", "b1", "-bucket", "b2")
	s := newStore(t, endpoint, testSecret)
	ctx := context.Background()
	data := make([]byte, 2*s3store.MinPartSize+12345) // three parts
	rand.NewChaCha8([32]byte{1}).Read(data)
	n, err := s.Put(ctx, "dir/obj", bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put: %d bytes, %v", n, err)
	}
	rc, err := s.Get(ctx, "dir/obj")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get: %d bytes (want %d), equal %v, err %v", len(got), len(data), bytes.Equal(got, data), err)
	}
	if err := s.Delete(ctx, "dir/obj"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "dir/obj"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat after Delete: %v, want ErrNotExist", err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d after stdin EOF, want 0", code)
	}
	if _, err := s.Stat(ctx, "dir/obj"); err == nil || errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat after stop: %v, want a connection error", err)
	}
}

func TestChecksSignatures(t *testing.T) {
	endpoint, _ := startServer(t, "-bucket", "b1")
	s := newStore(t, endpoint, "wrong-secret")
	_, err := s.Put(context.Background(), "k", strings.NewReader("x"))
	if err == nil {
		t.Fatal("Put signed with the wrong secret succeeded")
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("error shows the secret: %v", err)
	}
}

func TestRefusesNonLoopbackAndBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-addr", "0.0.0.0:0"}, {"-addr", "192.0.2.1:9000"}, {"-addr", "nonsense"}, {"-nope"}} {
		var stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
}
