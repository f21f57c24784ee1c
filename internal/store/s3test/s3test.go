// Package s3test runs a real S3 server for tests: rclone's gofakes3 (in
// memory, with SigV4 authentication) behind an httptest HTTPS server and a
// "B2 guard" that answers exactly like Backblaze B2 does to the checksum
// headers and aws-chunked uploads it does not support. A client that passes
// here will not be refused by B2 for those reasons. The server also records
// every request and can inject failures (a burst of 503s) and a skewed clock,
// so store and integration tests exercise the client's retries and errors.
//
// Presigned URLs (SigV4 query authentication, what scn's agent on a
// machine uses) are checked by gofakes3 itself as S3 and B2 do
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html):
// the signature over method, path, query and signed headers, an
// X-Amz-Expires between 1 s and 7 days, and 403 AccessDenied "Request has
// expired" once it has passed (TestPresignedURLsAreChecked pins it).
package s3test

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

// Credentials the test server accepts. The secret is distinctive so tests can
// assert it never leaks into an error message.
const (
	AccessKeyID     = "SCNTESTKEYID"
	SecretAccessKey = "scn-test-secret-must-never-be-printed"
	Bucket          = "scn-test"
)

// Request is what the server saw of one request.
type Request struct {
	Method, Path, Query string
	Header              http.Header
	Status              int // the status answered; -1 when the connection was dropped (ResetPresigned)
}

// Options configures StartServer.
type Options struct {
	// ClockOffset shifts the server's clock (what it checks request times
	// against and the Date header it answers with). gofakes3's signature
	// check reads the process-wide clock, so with an offset the server
	// checks request times but not signatures.
	ClockOffset time.Duration
	// Unversioned serves a bucket that never had versioning, like a new
	// AWS S3 bucket (B2 always keeps versions): each object is listed as
	// version "null", and gofakes3 refuses deletes by version id.
	Unversioned bool
}

// Server is a running test S3 server.
type Server struct {
	Endpoint string       // https://127.0.0.1:port
	Client   *http.Client // trusts the server's certificate
	Bucket   string
	// CertPEM is the server's certificate, PEM-encoded: what another
	// process (scn's agent on a test machine) must trust to reach it.
	CertPEM []byte

	mu         sync.Mutex
	requests   []Request
	failNext   int
	failStatus int
	expireNext int
	// faults on requests made with presigned URLs (a machine's, not scn's)
	failPresigned   int
	failPresStatus  int
	resetPresigned  int
	presignedServed int
}

// StartServer runs a server for the test: its endpoint, an HTTP client
// that trusts it, the name of an existing bucket (use AccessKeyID and
// SecretAccessKey as credentials), the request log and fault injection.
// The server is closed when the test ends.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	clock := offsetClock{offset: opts.ClockOffset}
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	if err := backend.CreateBucket(context.Background(), Bucket); err != nil {
		t.Fatalf("s3test: create bucket: %v", err)
	}
	// Versioning on, as on Backblaze B2 where every bucket keeps every
	// version: a delete without a version id only hides the object, so
	// tests see what a client leaves stored and billed.
	options := []gofakes3.Option{gofakes3.WithTimeSource(clock)}
	if opts.Unversioned {
		options = append(options, gofakes3.WithoutVersioning())
	} else if err := backend.SetVersioningConfiguration(Bucket, gofakes3.VersioningConfiguration{Status: gofakes3.VersioningEnabled}); err != nil {
		t.Fatalf("s3test: enable versioning: %v", err)
	}
	if opts.ClockOffset == 0 {
		options = append(options, gofakes3.WithV4Auth(map[string]string{AccessKeyID: SecretAccessKey}))
	}
	faker := gofakes3.New(versionedBackend{backend}, options...)
	s := &Server{Bucket: Bucket}
	handler := B2Guard(partSizeCheck(emptyUploadListing(faker.Server())))
	srv := httptest.NewTLSServer(s.record(clock, handler))
	t.Cleanup(srv.Close)
	s.Endpoint = srv.URL
	s.Client = srv.Client()
	s.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return s
}

// FailNext makes the next n requests fail with status (e.g. 503) and an S3
// XML error body, before they reach the S3 server.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus = n, status
}

// FailPresigned makes the next n transfers (PUT, GET) made with a presigned
// URL (scn's agent on a machine, never scn itself) fail with status and an
// S3 XML error body. This and ResetPresigned and ExpireNext leave HEADs
// alone: the machine's reachability probe.
func (s *Server) FailPresigned(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPresigned, s.failPresStatus = n, status
}

// ResetPresigned drops the connection of the next n transfers made with a
// presigned URL without answering: a connection reset mid-request.
func (s *Server) ResetPresigned(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetPresigned = n
}

// Presigned is how many transfers with a presigned URL reached the server.
func (s *Server) Presigned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.presignedServed
}

// ExpireNext answers the next n transfers made with a presigned URL as S3
// answers one whose X-Amz-Expires has passed: 403 AccessDenied "Request has
// expired". It stands for a URL that expired in flight (a slow part, a
// machine that waited) without waiting for real expiry.
func (s *Server) ExpireNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireNext = n
}

// Requests returns a copy of every request seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) record(clock offsetClock, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone()}
		s.mu.Lock()
		inject := 0
		if s.failNext > 0 {
			s.failNext--
			inject = s.failStatus
		}
		expire, reset := false, false
		// Presigned faults hit transfers (PUT, GET), not the HEAD a
		// machine makes to see it can reach the store.
		if r.URL.Query().Get("X-Amz-Signature") != "" && r.Method != http.MethodHead {
			s.presignedServed++
			switch {
			case s.expireNext > 0:
				s.expireNext--
				expire = true
			case s.resetPresigned > 0:
				s.resetPresigned--
				reset = true
			case s.failPresigned > 0 && inject == 0:
				s.failPresigned--
				inject = s.failPresStatus
			}
		}
		s.mu.Unlock()
		if reset {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			req.Status = -1
			s.mu.Lock()
			s.requests = append(s.requests, req)
			s.mu.Unlock()
			return
		}
		// A real server's Date header comes from its own clock; the SDK uses
		// it to correct for clock skew.
		w.Header().Set("Date", clock.Now().UTC().Format(http.TimeFormat))
		sw := &statusWriter{ResponseWriter: w}
		switch {
		case inject != 0:
			WriteError(sw, inject, "ServiceUnavailable", "Injected failure: please reduce your request rate.")
		case expire:
			WriteError(sw, http.StatusForbidden, "AccessDenied", "Request has expired")
		default:
			next.ServeHTTP(sw, r)
		}
		req.Status = sw.status
		if req.Status == 0 {
			req.Status = http.StatusOK // nothing written: net/http answers 200
		}
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
	})
}

// ForbiddenHeader returns the first header B2 would refuse in h, or "".
func ForbiddenHeader(h http.Header) string {
	for name, values := range h {
		lower := strings.ToLower(name)
		switch {
		case strings.HasPrefix(lower, "x-amz-checksum-"), lower == "x-amz-sdk-checksum-algorithm":
			return lower
		case lower == "content-encoding":
			for _, v := range values {
				if strings.Contains(strings.ToLower(v), "aws-chunked") {
					return lower
				}
			}
		}
	}
	return ""
}

// B2Guard refuses, like Backblaze B2, any request carrying x-amz-checksum-*,
// x-amz-sdk-checksum-algorithm, x-amz-checksum-mode or Content-Encoding:
// aws-chunked: 400 InvalidArgument "Unsupported header '<h>' received for
// this API call."
func B2Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := ForbiddenHeader(r.Header); h != "" {
			WriteError(w, http.StatusBadRequest, "InvalidArgument",
				fmt.Sprintf("Unsupported header '%s' received for this API call.", h))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// WriteError writes an S3 XML error response.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, message)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type offsetClock struct{ offset time.Duration }

func (c offsetClock) Now() time.Time                  { return time.Now().Add(c.offset).In(time.FixedZone("GMT", 0)) }
func (c offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
