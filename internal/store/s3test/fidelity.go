package s3test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

// Where gofakes3 (v0.0.12) answers unlike S3 and B2, the test server
// corrects it here, so a client that passes against it passes against the
// real service.

// versionedBackend is gofakes3's memory backend with ListBucket made to
// skip objects whose latest version is a delete marker: S3 lists only
// current objects
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html:
// "a delete marker ... makes Amazon S3 behave as if the object is
// deleted"), while s3mem lists the marker as an empty object.
type versionedBackend struct{ *s3mem.Backend }

func (b versionedBackend) ListBucket(ctx context.Context, name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	list, err := b.Backend.ListBucket(ctx, name, prefix, page)
	if err != nil {
		return nil, err
	}
	kept := list.Contents[:0]
	for _, c := range list.Contents {
		_, err := b.Backend.HeadObject(ctx, name, c.Key)
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			continue // the latest version is a delete marker
		}
		if err != nil {
			return nil, err
		}
		kept = append(kept, c)
	}
	list.Contents = kept
	return list, nil
}

// emptyUploadListing answers ListMultipartUploads on a bucket that never
// had an upload with an empty listing, as S3 does
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html),
// where gofakes3 answers 404 NoSuchUpload.
func emptyUploadListing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket := strings.Trim(r.URL.Path, "/")
		if _, ok := r.URL.Query()["uploads"]; !ok || r.Method != http.MethodGet || bucket == "" || strings.Contains(bucket, "/") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "NoSuchUpload") {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
				`<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>%s</Bucket><Prefix>%s</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`,
				xmlEscape(bucket), xmlEscape(r.URL.Query().Get("prefix")))
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
