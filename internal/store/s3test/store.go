package s3test

import (
	"context"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3store"
)

// Store is scn's S3 store on this server as tests use it: objects under
// prefix, the smallest parts S3 allows and three in flight (so a few MiB
// make a multipart upload), quick retries, and the server's certificate
// trusted — also by the agents scn hands presigned URLs to.
func (s *Server) Store(t testing.TB, prefix string) store.Store {
	t.Helper()
	st, err := s3store.New(context.Background(), s3store.Config{
		Endpoint: s.Endpoint, Bucket: s.Bucket, Prefix: prefix,
		AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey,
		PartSize: s3store.MinPartSize, Concurrency: 3, HTTPClient: s.Client, MaxBackoff: 5 * time.Millisecond,
		CAPEM: s.CertPEM,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
