package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/store/storetest"
)

func newS3(t *testing.T, srv *s3test.Server, mod func(*s3store.Config)) *s3store.Store {
	t.Helper()
	cfg := s3store.Config{
		Endpoint:        srv.Endpoint,
		Bucket:          srv.Bucket,
		Prefix:          "scn",
		AccessKeyID:     s3test.AccessKeyID,
		SecretAccessKey: s3test.SecretAccessKey,
		PartSize:        s3store.MinPartSize,
		Concurrency:     3,
		HTTPClient:      srv.Client,
		MaxBackoff:      5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := s3store.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// threePartObject spans three 5 MiB parts, the last one short.
const threePartObject = 2*s3store.MinPartSize + 123457

func TestS3Conformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T) store.Store {
		return newS3(t, s3test.StartServer(t, s3test.Options{}), nil)
	}, threePartObject)
}

// Multipart upload and ranged parallel download, path-style, and the B2
// guard refuses what B2 refuses while the store sends none of it.
func TestS3MultipartRangedAndNothingB2Refuses(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil)
	storetest.MustPut(t, s, "small", []byte("tiny"))
	data := storetest.RandomBytes(threePartObject, 12)
	storetest.MustPut(t, s, "snapshots/m/data.tar.lz4", data)
	storetest.MustGet(t, s, "small")
	if got := storetest.MustGet(t, s, "snapshots/m/data.tar.lz4"); !bytes.Equal(got, data) {
		t.Fatal("multipart object read back differs")
	}
	var parts, ranged int
	for _, r := range srv.Requests() {
		if r.Path != "/"+srv.Bucket+"/scn/snapshots/m/data.tar.lz4" {
			continue
		}
		if r.Method == http.MethodPut && strings.Contains(r.Query, "partNumber=") {
			parts++
		}
		if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
			ranged++
		}
	}
	if parts != 3 || ranged != 3 {
		t.Fatalf("saw %d part uploads and %d ranged GETs under /%s/scn/; want 3 and 3 (path-style)", parts, ranged, srv.Bucket)
	}
	if _, err := s.List(storetest.Ctx(t), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(storetest.Ctx(t), "small"); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) < 10 {
		t.Fatalf("only %d requests seen", len(reqs))
	}
	for _, r := range reqs {
		if h := s3test.ForbiddenHeader(r.Header); h != "" || r.Status == http.StatusBadRequest {
			t.Errorf("%s %s?%s sent %q (status %d)", r.Method, r.Path, r.Query, h, r.Status)
		}
	}

	// Controls: the SDK's default (WhenSupported, what LoadDefaultConfig
	// gives) sends checksums, and so does a transfer manager left at its own
	// default over a WhenRequired client (aws-sdk-go-v2 #3469); the guard
	// refuses both the way B2 does.
	newClient := func(calc aws.RequestChecksumCalculation) *s3.Client {
		return s3.New(s3.Options{
			Region:                     "us-west-004",
			BaseEndpoint:               aws.String(srv.Endpoint),
			UsePathStyle:               true,
			HTTPClient:                 srv.Client,
			Credentials:                credentials.NewStaticCredentialsProvider(s3test.AccessKeyID, s3test.SecretAccessKey, ""),
			RequestChecksumCalculation: calc,
		})
	}
	wantRefused := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "InvalidArgument") || !strings.Contains(err.Error(), "Unsupported header '") {
			t.Fatalf("%s through the B2 guard = %v; want 400 InvalidArgument Unsupported header", what, err)
		}
	}
	_, err := newClient(aws.RequestChecksumCalculationWhenSupported).PutObject(storetest.Ctx(t), &s3.PutObjectInput{
		Bucket: aws.String(srv.Bucket), Key: aws.String("x"), Body: strings.NewReader("data")})
	wantRefused("default SDK PutObject", err)
	tm := transfermanager.New(newClient(aws.RequestChecksumCalculationWhenRequired))
	_, err = tm.UploadObject(storetest.Ctx(t), &transfermanager.UploadObjectInput{
		Bucket: aws.String(srv.Bucket), Key: aws.String("y"), Body: strings.NewReader("data")})
	wantRefused("transfer manager at its default", err)
}

func TestS3RetriesA503Burst(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil) // 5 attempts
	srv.FailNext(3, http.StatusServiceUnavailable)
	storetest.MustPut(t, s, "k", []byte("survives"))
	data := storetest.RandomBytes(threePartObject, 13)
	srv.FailNext(3, http.StatusServiceUnavailable) // CreateMultipartUpload, then two UploadParts
	storetest.MustPut(t, s, "big", data)
	srv.FailNext(2, http.StatusServiceUnavailable) // HEAD, then a ranged GET
	if got := storetest.MustGet(t, s, "big"); !bytes.Equal(got, data) {
		t.Fatal("object read through a 503 burst differs")
	}
	if got := string(storetest.MustGet(t, s, "k")); got != "survives" {
		t.Fatalf("Get = %q", got)
	}
	n503 := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusServiceUnavailable {
			n503++
		}
	}
	if n503 != 8 {
		t.Fatalf("server answered %d requests with 503; want 8", n503)
	}
}

func TestS3GivesUpAfterMaxAttempts(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, func(c *s3store.Config) { c.MaxAttempts = 2 })
	srv.FailNext(2, http.StatusServiceUnavailable)
	_, err := s.Put(storetest.Ctx(t), "snapshots/z/manifest.json", strings.NewReader("x"))
	if err == nil {
		t.Fatal("Put succeeded through more 503s than attempts")
	}
	msg := err.Error()
	for _, want := range []string{"snapshots/z/manifest.json", "s3://" + srv.Bucket + "/scn", "503"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestS3ClockSkew(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{ClockOffset: 2 * time.Hour})
	// The SDK learns the offset from the server's Date header and retries.
	storetest.MustPut(t, newS3(t, srv, nil), "k", []byte("ok"))

	// With no retry left, the error says what is wrong and by how much.
	s := newS3(t, srv, func(c *s3store.Config) { c.MaxAttempts = 1 })
	_, err := s.Put(storetest.Ctx(t), "k2", strings.NewReader("x"))
	if err == nil {
		t.Fatal("Put with a 2h clock skew succeeded without a retry")
	}
	if msg := err.Error(); !strings.Contains(msg, "local clock is off") || !strings.Contains(msg, "2h0m0s behind") || !strings.Contains(msg, "k2") {
		t.Fatalf("clock skew error = %q", msg)
	}
}

func TestS3ErrorsNeverShowTheSecret(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	const wrong = "wrong-secret-value-1234567890"
	s := newS3(t, srv, func(c *s3store.Config) { c.SecretAccessKey = wrong })
	_, err := s.Put(storetest.Ctx(t), "k", strings.NewReader("x"))
	if err == nil {
		t.Fatal("Put with a wrong secret succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, wrong) || !strings.Contains(msg, "access denied") || !strings.Contains(msg, `"k"`) {
		t.Fatalf("error = %q; want access denied naming the key, without the secret", msg)
	}
	if strings.Contains(s.String(), wrong) || strings.Contains(s.String(), s3test.SecretAccessKey) {
		t.Fatal("String() shows a secret")
	}
}

func TestS3MissingBucket(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, func(c *s3store.Config) { c.Bucket = "no-such-bucket" })
	_, err := s.Put(storetest.Ctx(t), "k", strings.NewReader("x"))
	if err == nil || errors.Is(err, store.ErrNotExist) || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Fatalf("Put into a missing bucket = %v", err)
	}
}

func TestS3GetCloseStopsDownload(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil)
	storetest.MustPut(t, s, "big", storetest.RandomBytes(threePartObject, 14))
	rc, err := s.Get(storetest.Ctx(t), "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil { // returns once every fetch has stopped
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 10)); err == nil {
		t.Fatal("Read after Close succeeded")
	}
}

func TestNewS3Checks(t *testing.T) {
	good := s3store.Config{Endpoint: "https://s3.us-west-004.backblazeb2.com", Bucket: "b", AccessKeyID: "id", SecretAccessKey: "sk"}
	s, err := s3store.New(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "s3://b at https://s3.us-west-004.backblazeb2.com" {
		t.Fatalf("String = %q", got)
	}
	withPrefix := good
	withPrefix.Prefix = "/drills/"
	if s, _ := s3store.New(context.Background(), withPrefix); s.String() != "s3://b/drills at https://s3.us-west-004.backblazeb2.com" {
		t.Fatalf("String = %q", s.String())
	}
	for name, mod := range map[string]func(*s3store.Config){
		"endpoint":  func(c *s3store.Config) { c.Endpoint = "s3.example.com" },
		"bucket":    func(c *s3store.Config) { c.Bucket = "" },
		"secret":    func(c *s3store.Config) { c.SecretAccessKey = "" },
		"part size": func(c *s3store.Config) { c.PartSize = 1 << 20 },
	} {
		cfg := good
		mod(&cfg)
		if _, err := s3store.New(context.Background(), cfg); err == nil {
			t.Errorf("NewS3 with a bad %s succeeded", name)
		} else if strings.Contains(err.Error(), "sk") && name != "secret" {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestRegionFromEndpoint(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://s3.us-west-004.backblazeb2.com":     "us-west-004",
		"https://s3.eu-central-003.backblazeb2.com/": "eu-central-003",
		"https://s3.us-east-2.amazonaws.com":         "us-east-2",
		"https://127.0.0.1:9000":                     "",
		"https://minio.local":                        "",
		"::not a url":                                "",
	} {
		if got := s3store.RegionFromEndpoint(endpoint); got != want {
			t.Errorf("RegionFromEndpoint(%q) = %q; want %q", endpoint, got, want)
		}
	}
}
