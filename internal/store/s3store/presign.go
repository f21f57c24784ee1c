package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/scnlabs/scn/internal/store"
)

// The Store is a store.Presigner: scn's agent on a machine uploads parts
// and reads ranges with URLs presigned here (SigV4 query authentication,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html),
// so the keys never leave scn. The presign client shares the store's
// client options, so the URLs are path-style and carry no checksum
// parameter (RequestChecksumCalculation WhenRequired: B2 refuses them).
var _ store.Presigner = (*Store)(nil)

// PartSize implements store.Presigner.
func (s *Store) PartSize() int64 { return s.partSize }

// CertificateAuthorities implements store.Presigner: Config.CAPEM.
func (s *Store) CertificateAuthorities() []byte { return s.ca }

// Concurrency implements store.Presigner.
func (s *Store) Concurrency() int { return s.concurrency }

// CreateUpload implements store.Presigner.
func (s *Store) CreateUpload(ctx context.Context, key string) (string, error) {
	if err := store.CheckKey(key); err != nil {
		return "", fmt.Errorf("%s: %w", s, err)
	}
	out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key))})
	if err != nil {
		return "", s.fail("create upload", key, err)
	}
	return aws.ToString(out.UploadId), nil
}

// PresignPart implements store.Presigner.
func (s *Store) PresignPart(ctx context.Context, key, uploadID string, n int, ttl time.Duration) (store.Request, error) {
	if n < 1 || n > 10000 {
		return store.Request{}, fmt.Errorf("s3 upload of %q in %s: part number %d is outside 1-10000 (S3's limit: use bigger parts)", key, s, n)
	}
	req, err := s.presigner().PresignUploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key)), UploadId: aws.String(uploadID), PartNumber: aws.Int32(int32(n)),
	}, s3.WithPresignExpires(ttl))
	return s.request(req, err, "presign part", key, ttl)
}

// CompleteUpload implements store.Presigner.
func (s *Store) CompleteUpload(ctx context.Context, key, uploadID string, parts []store.Part) error {
	sorted := append([]store.Part(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Number < sorted[j].Number })
	completed := make([]types.CompletedPart, len(sorted))
	for i, p := range sorted {
		completed[i] = types.CompletedPart{ETag: aws.String(p.ETag), PartNumber: aws.Int32(int32(p.Number))}
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key)), UploadId: aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		return s.fail("complete upload", key, err)
	}
	return nil
}

// AbortUpload implements store.Presigner. An upload already gone is not an
// error: aborting twice (scn, then its cleanup) must succeed.
func (s *Store) AbortUpload(ctx context.Context, key, uploadID string) error {
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key)), UploadId: aws.String(uploadID)})
	var noUpload *types.NoSuchUpload
	if err == nil || errors.As(err, &noUpload) {
		return nil
	}
	if err = s.fail("abort upload", key, err); errors.Is(err, store.ErrNotExist) {
		return nil
	}
	return err
}

// PresignGet implements store.Presigner. Range is not signed: the bearer
// sends any Range header with the same URL.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (store.Request, error) {
	req, err := s.presigner().PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key))},
		s3.WithPresignExpires(ttl))
	return s.request(req, err, "presign get", key, ttl)
}

// PresignHead implements store.Presigner.
func (s *Store) PresignHead(ctx context.Context, key string, ttl time.Duration) (store.Request, error) {
	req, err := s.presigner().PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key))},
		s3.WithPresignExpires(ttl))
	return s.request(req, err, "presign head", key, ttl)
}

func (s *Store) presigner() *s3.PresignClient { return s3.NewPresignClient(s.client) }

// request turns the SDK's presigned request into a store.Request; the
// expiry is computed from scn's clock, which signed it.
func (s *Store) request(req *v4.PresignedHTTPRequest, err error, op, key string, ttl time.Duration) (store.Request, error) {
	if err != nil {
		return store.Request{}, s.fail(op, key, err)
	}
	h := http.Header{}
	for k, v := range req.SignedHeader {
		if http.CanonicalHeaderKey(k) != "Host" {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	if len(h) == 0 {
		h = nil
	}
	return store.Request{Method: req.Method, URL: req.URL, Header: h, Expires: time.Now().Add(ttl)}, nil
}
