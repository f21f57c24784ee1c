package s3test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Leftovers lists what is still stored, and would be billed on B2, under
// prefix (a full bucket key prefix): every object version, every delete
// marker and every unfinished multipart upload, one line each. A deleted
// snapshot must leave none. It asks the server the way any S3 client
// would (ListObjectVersions, ListMultipartUploads), one page each:
// tests hold far fewer than the 1000 a page lists.
func (s *Server) Leftovers(t testing.TB, prefix string) []string {
	t.Helper()
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   s.Client,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		// B2 refuses the checksum headers: the guard would too.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	ctx := context.Background()
	var out []string
	vs, err := client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatalf("s3test: list versions under %q: %v", prefix, err)
	}
	for _, v := range vs.Versions {
		out = append(out, fmt.Sprintf("version %s %s", aws.ToString(v.Key), aws.ToString(v.VersionId)))
	}
	for _, m := range vs.DeleteMarkers {
		out = append(out, fmt.Sprintf("delete marker %s %s", aws.ToString(m.Key), aws.ToString(m.VersionId)))
	}
	ups, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatalf("s3test: list uploads under %q: %v", prefix, err)
	}
	for _, u := range ups.Uploads {
		out = append(out, fmt.Sprintf("upload %s %s", aws.ToString(u.Key), aws.ToString(u.UploadId)))
	}
	return out
}
