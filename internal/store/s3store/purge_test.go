package s3store_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/store/storetest"
)

// The test server keeps versions, as B2 does: a delete without a version
// id would leave every version stored behind a marker.
func TestS3DeleteRemovesEveryVersion(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil)
	storetest.MustPut(t, s, "snapshots/a/data", []byte("first"))
	storetest.MustPut(t, s, "snapshots/a/data", []byte("second"))
	storetest.MustPut(t, s, "snapshots/a/data-other", []byte("kept"))
	if got := srv.Leftovers(t, "scn/snapshots/a/data"); len(got) != 3 {
		t.Fatalf("before the delete the server holds %q; want 3 versions (is versioning on?)", got)
	}
	if err := s.Delete(storetest.Ctx(t), "snapshots/a/data"); err != nil {
		t.Fatal(err)
	}
	left := srv.Leftovers(t, "scn/snapshots/a/")
	if len(left) != 1 || !bytes.Contains([]byte(left[0]), []byte("snapshots/a/data-other")) {
		t.Fatalf("after deleting snapshots/a/data the server holds %q; want only data-other's version", left)
	}
}

// On a bucket that never had versioning every object is version "null":
// Delete and Purge remove it all the same.
func TestS3DeleteAndPurgeOnAnUnversionedBucket(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{Unversioned: true})
	s := newS3(t, srv, nil)
	storetest.MustPut(t, s, "snapshots/u/data", []byte("data"))
	storetest.MustPut(t, s, "snapshots/u/manifest.json", []byte("{}"))
	if err := s.Delete(storetest.Ctx(t), "snapshots/u/manifest.json"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Purge(storetest.Ctx(t), "snapshots/u/"); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want the data object removed", n, err)
	}
	if got := srv.Leftovers(t, "scn/snapshots/u/"); len(got) != 0 {
		t.Fatalf("the unversioned bucket still holds %q", got)
	}
}

// Purge removes what a plain delete and a killed writer leave: a delete
// marker with the hidden version behind it, and an unfinished upload.
func TestS3PurgeLeavesNothingBilled(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil)
	storetest.MustPut(t, s, "snapshots/b/manifest.json", []byte("{}"))
	raw := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true, HTTPClient: srv.Client,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKeyID, s3test.SecretAccessKey, "")})
	if _, err := raw.DeleteObject(storetest.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("scn/snapshots/b/manifest.json")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUpload(storetest.Ctx(t), "snapshots/b/data.tar.lz4"); err != nil {
		t.Fatal(err)
	}
	storetest.MustPut(t, s, "snapshots/bb/manifest.json", []byte("another snapshot"))
	if objs, _ := s.List(storetest.Ctx(t), "snapshots/b/"); len(objs) != 0 {
		t.Fatalf("List shows %v; the marker should hide the manifest", objs)
	}
	if got := srv.Leftovers(t, "scn/snapshots/b/"); len(got) != 3 {
		t.Fatalf("before the purge the server holds %q; want a version, a delete marker and an upload", got)
	}
	n, err := s.Purge(storetest.Ctx(t), "snapshots/b/")
	if err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3 removed", n, err)
	}
	if got := srv.Leftovers(t, "scn/snapshots/b/"); len(got) != 0 {
		t.Fatalf("after the purge the server still holds %q", got)
	}
	if got := srv.Leftovers(t, "scn/snapshots/bb/"); len(got) != 1 {
		t.Fatalf("the purge of snapshots/b/ touched snapshots/bb/: %q left", got)
	}
	if n, err := s.Purge(storetest.Ctx(t), "snapshots/b/"); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0 removed (nothing left)", n, err)
	}
}

// A put whose source fails part-way aborts its multipart upload: no
// parts stay stored.
func TestS3FailedPutAbortsItsUpload(t *testing.T) {
	srv := s3test.StartServer(t, s3test.Options{})
	s := newS3(t, srv, nil)
	broken := errors.New("source broke")
	body := io.MultiReader(bytes.NewReader(storetest.RandomBytes(threePartObject, 7)), errReader{broken})
	if _, err := s.Put(storetest.Ctx(t), "snapshots/c/data.tar.lz4", body); err == nil {
		t.Fatal("Put of a failing source succeeded")
	}
	aborted := false
	for _, r := range srv.Requests() {
		aborted = aborted || (r.Method == "DELETE" && bytes.Contains([]byte(r.Query), []byte("uploadId=")))
	}
	if !aborted {
		t.Fatal("the failed put sent no AbortMultipartUpload")
	}
	if got := srv.Leftovers(t, "scn/snapshots/c/"); len(got) != 0 {
		t.Fatalf("a failed put left %q", got)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
