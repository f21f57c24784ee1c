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

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/store/storetest"
)

// send makes a presigned request as a machine would: a plain HTTP client,
// the signed headers as given, no credentials.
func send(t *testing.T, srv *s3test.Server, r store.Request, hdr http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(r.Method, r.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// A machine uploads the parts and reads ranges with presigned URLs only;
// scn completes the upload. The URLs are path-style, carry no checksum
// parameter B2 would refuse, and never the secret.
func TestPresignedMultipartUploadAndRangedGet(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil)
	ctx := storetest.Ctx(t)
	key := "snapshots/p/data.tar.lz4"
	data := storetest.RandomBytes(threePartObject, 21)
	id, err := s.CreateUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var parts []store.Part
	for n, off := 1, 0; off < len(data); n, off = n+1, off+int(s.PartSize()) {
		chunk := data[off:min(off+int(s.PartSize()), len(data))]
		r, err := s.PresignPart(ctx, key, id, n, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r.Method != http.MethodPut || !strings.Contains(r.URL, "/"+srv.Bucket+"/scn/"+key+"?") {
			t.Fatalf("part URL %s %s is not a path-style PUT of the key", r.Method, r.URL)
		}
		for _, bad := range []string{"checksum", s3test.SecretAccessKey} {
			if strings.Contains(strings.ToLower(r.URL), strings.ToLower(bad)) {
				t.Fatalf("part URL carries %q: %s", bad, r.URL)
			}
		}
		if time.Until(r.Expires) > time.Minute || time.Until(r.Expires) < 50*time.Second {
			t.Fatalf("part URL expires at %v, want about a minute from now", r.Expires)
		}
		resp, body := send(t, srv, r, nil, chunk)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("part %d: %d %s", n, resp.StatusCode, body)
		}
		parts = append(parts, store.Part{Number: n, ETag: resp.Header.Get("ETag"), Size: int64(len(chunk))})
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("the object exists before the upload is completed: %v", err)
	}
	parts[0], parts[2] = parts[2], parts[0] // completion sorts them
	if err := s.CompleteUpload(ctx, key, id, parts); err != nil {
		t.Fatal(err)
	}
	if got := storetest.MustGet(t, s, key); !bytes.Equal(got, data) {
		t.Fatal("object assembled from presigned parts differs")
	}

	get, err := s.PresignGet(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := send(t, srv, get, http.Header{"Range": {"bytes=100-199"}}, nil)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100:200]) {
		t.Fatalf("ranged GET with a presigned URL: %d, %d bytes", resp.StatusCode, len(body))
	}
	head, err := s.PresignHead(ctx, "snapshots/p/manifest.json", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := send(t, srv, head, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD of a missing key with a presigned URL: %d, want 404", resp.StatusCode)
	}
	for _, r := range srv.Requests() {
		if h := s3test.ForbiddenHeader(r.Header); h != "" || strings.Contains(strings.ToLower(r.Query), "checksum") {
			t.Errorf("%s %s?%s carries what B2 refuses (%q)", r.Method, r.Path, r.Query, h)
		}
	}
}

// An aborted upload is gone: its URLs stop working and aborting again is
// not an error (scn aborts, then its cleanup may try too).
func TestAbortUpload(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil)
	ctx := context.Background()
	id, err := s.CreateUpload(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.PresignPart(ctx, "k", id, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AbortUpload(ctx, "k", id); err != nil {
		t.Fatal(err)
	}
	if resp, body := send(t, srv, r, nil, []byte("late")); resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "NoSuchUpload") {
		t.Fatalf("part upload after abort: %d %s", resp.StatusCode, body)
	}
	if err := s.AbortUpload(ctx, "k", id); err != nil {
		t.Fatalf("second abort: %v", err)
	}
	if _, err := s.PresignPart(ctx, "k", id, 10001, time.Minute); err == nil {
		t.Fatal("part 10001 presigned: S3 allows 10000")
	}
}
