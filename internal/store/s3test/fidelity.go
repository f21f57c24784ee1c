package s3test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

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

// minPartSize is the smallest part S3 and B2 accept in a completed upload,
// the last part excepted: AWS answers CompleteMultipartUpload with 400
// EntityTooSmall (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html,
// "Your proposed upload is smaller than the minimum allowed object size")
// and B2's floor is 5 MB (https://www.backblaze.com/docs/cloud-storage-create-large-files-with-the-native-api:
// "the minimum part size is 5 MB except for the last part"). The stricter
// 5 MiB holds for both. gofakes3 assembles parts of any size.
const minPartSize = 5 << 20

// partSizeCheck refuses to complete an upload whose parts other than the
// last are smaller than minPartSize, as S3 and B2 do. It learns each
// part's size from the UploadPart requests that succeeded.
func partSizeCheck(next http.Handler) http.Handler {
	var mu sync.Mutex
	sizes := map[string]int64{} // uploadId/partNumber → bytes stored
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		id := q.Get("uploadId")
		switch {
		case id != "" && q.Get("partNumber") != "" && r.Method == http.MethodPut:
			body := &countingBody{ReadCloser: r.Body}
			r.Body = body
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == http.StatusOK || sw.status == 0 {
				mu.Lock()
				sizes[id+"/"+q.Get("partNumber")] = body.n
				mu.Unlock()
			}
			return
		case id != "" && r.Method == http.MethodPost:
			b, err := io.ReadAll(r.Body)
			if err != nil {
				WriteError(w, http.StatusBadRequest, "IncompleteBody", "The request body could not be read.")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			var in gofakes3.CompleteMultipartUploadRequest
			if xml.Unmarshal(b, &in) == nil {
				mu.Lock()
				small := false
				for i, p := range in.Parts {
					n, ok := sizes[id+"/"+strconv.Itoa(p.PartNumber)]
					small = small || ok && i < len(in.Parts)-1 && n < minPartSize
				}
				mu.Unlock()
				if small {
					WriteError(w, http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}
