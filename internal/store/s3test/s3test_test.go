package s3test_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/scnlabs/scn/internal/store/s3test"
)

// presign signs method on the bucket's key as of signed, valid for expires
// (SigV4 query authentication, as S3 SDKs' presigners do).
func presign(t *testing.T, srv *s3test.Server, method, key string, signed time.Time, expires int) string {
	t.Helper()
	req, err := http.NewRequest(method, srv.Endpoint+"/"+srv.Bucket+"/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey}
	url, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", signed)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func do(t *testing.T, srv *s3test.Server, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The server checks presigned URLs as S3 and B2 do: a machine holding one
// can do exactly what was signed, until it expires, and nothing else.
func TestPresignedURLsAreChecked(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	now := time.Now()
	put := presign(t, srv, http.MethodPut, "k", now, 60)
	if code, body := do(t, srv, http.MethodPut, put, "hello", nil); code != http.StatusOK {
		t.Fatalf("presigned PUT: %d %s", code, body)
	}
	get := presign(t, srv, http.MethodGet, "k", now, 60)
	if code, body := do(t, srv, http.MethodGet, get, "", http.Header{"Range": {"bytes=1-3"}}); code != http.StatusPartialContent || body != "ell" {
		t.Fatalf("presigned ranged GET: %d %q", code, body)
	}
	for name, tc := range map[string]struct {
		method, url string
		header      http.Header
		want        string
	}{
		"tampered signature": {http.MethodGet, get[:len(get)-4] + "0000", nil, "SignatureDoesNotMatch"},
		"other key":          {http.MethodGet, strings.Replace(get, "/k?", "/other?", 1), nil, "SignatureDoesNotMatch"},
		"other method":       {http.MethodDelete, get, nil, "SignatureDoesNotMatch"},
		"longer expiry":      {http.MethodGet, strings.Replace(get, "X-Amz-Expires=60", "X-Amz-Expires=600", 1), nil, "SignatureDoesNotMatch"},
		"expired":            {http.MethodGet, presign(t, srv, http.MethodGet, "k", now.Add(-2*time.Hour), 60), nil, "Request has expired"},
		"unsigned x-amz header": {http.MethodPut, put, http.Header{"X-Amz-Copy-Source": {"/" + srv.Bucket + "/k"}},
			"AccessDenied"},
	} {
		t.Run(name, func(t *testing.T) {
			code, body := do(t, srv, tc.method, tc.url, "", tc.header)
			if code != http.StatusForbidden || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s, want 403 with %q", code, body, tc.want)
			}
		})
	}
	// ExpireNext answers like the real expiry above.
	srv.ExpireNext(1)
	if code, body := do(t, srv, http.MethodGet, get, "", nil); code != http.StatusForbidden || !strings.Contains(body, "Request has expired") {
		t.Fatalf("ExpireNext: %d %s", code, body)
	}
	if code, _ := do(t, srv, http.MethodGet, get, "", nil); code != http.StatusOK {
		t.Fatalf("after ExpireNext(1) the URL works again: %d", code)
	}
}

// Like S3 and B2, the server completes an upload only when every part but
// the last holds at least 5 MiB: a client sending short parts fails here,
// not first on the real service.
func TestCompleteRefusesShortParts(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true, HTTPClient: srv.Client,
		Credentials:                credentials.NewStaticCredentialsProvider(s3test.AccessKeyID, s3test.SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
	ctx, key := t.Context(), aws.String("short-parts")
	up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &srv.Bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	part := func(n int32, size int) types.CompletedPart {
		out, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &srv.Bucket, Key: key, UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(make([]byte, size))})
		if err != nil {
			t.Fatal(err)
		}
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag}
	}
	complete := func(parts ...types.CompletedPart) error {
		_, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &srv.Bucket, Key: key,
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	last := part(2, 10) // the last part may be as small as it likes
	var apiErr smithy.APIError
	if err := complete(part(1, 5<<20-1), last); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "EntityTooSmall" {
		t.Fatalf("completing with a first part of 5 MiB - 1: %v, want EntityTooSmall", err)
	}
	if err := complete(part(1, 5<<20), last); err != nil {
		t.Fatalf("completing with a first part of 5 MiB: %v", err)
	}
}
