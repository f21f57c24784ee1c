package s3store

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scnlabs/scn/internal/store/ranges"
)

// maxRangeSize caps a Get's ranges: 4 ranges of 8 MiB in flight already
// keep a 100 ms, 300 MB/s link full, and halve Get's memory next to
// 16 MiB upload parts.
const maxRangeSize = 8 << 20

// newRangeReader is the body of an S3 Get: ranges of min(PartSize, 8 MiB)
// fetched Concurrency at a time and read back in order (ranges.Reader).
//
// (The transfer manager's own GetObject reader busy-waits between parts and
// only fetches while Read is running, so downloading would not overlap with
// decompression and extraction; this reader keeps the pipe full.)
func newRangeReader(ctx context.Context, s *Store, key string, size int64, etag string) io.ReadCloser {
	what := fmt.Sprintf("s3 get %q in %s", key, s)
	return ranges.NewReader(ctx, what, size, min(s.partSize, maxRangeSize), s.concurrency,
		func(ctx context.Context, start int64, buf []byte) error {
			return s.fetchRange(ctx, key, etag, start, buf)
		})
}

// fetchRange fills buf from the object at start. The SDK retries failed
// requests; a body that breaks off mid-way is fetched again here, up to the
// same number of attempts.
func (s *Store) fetchRange(ctx context.Context, key, etag string, start int64, buf []byte) error {
	end := start + int64(len(buf)) - 1
	for attempt := 1; ; attempt++ {
		out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
			Bucket: aws.String(s.bucket),
			Key:    aws.String(s.fullKey(key)),
			Range:  aws.String(fmt.Sprintf("bytes=%d-%d", start, end)),
		})
		if err != nil {
			return s.fail("get", key, err)
		}
		if got := aws.ToString(out.ETag); etag != "" && got != "" && got != etag {
			out.Body.Close()
			return fmt.Errorf("s3 get %q in %s: the object changed while being read (ETag %s, was %s)", key, s, got, etag)
		}
		if got := aws.ToInt64(out.ContentLength); got != int64(len(buf)) {
			out.Body.Close()
			return fmt.Errorf("s3 get %q in %s: asked for bytes %d-%d, server sent %d bytes", key, s, start, end, got)
		}
		_, err = io.ReadFull(out.Body, buf)
		out.Body.Close()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt >= s.maxAttempts {
			return fmt.Errorf("s3 get %q in %s: bytes %d-%d: %w (after %d attempts)", key, s, start, end, err, attempt)
		}
		delay := min(s.maxBackoff, 100*time.Millisecond<<attempt)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
