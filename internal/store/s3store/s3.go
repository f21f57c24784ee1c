// Package s3store is the store.Store over S3-compatible object storage
// (Backblaze B2 first, any S3 endpoint): multipart uploads and parallel ranged
// reads with the SDK checksums B2 refuses turned off. It is the only package
// that links aws-sdk-go-v2, so only the target assembly imports it.
package s3store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/scnlabs/scn/internal/store"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
)

// S3 part sizes: S3 (and B2) refuse parts under 5 MiB except the last one.
const (
	MinPartSize     = 5 << 20
	DefaultPartSize = 16 << 20
)

// Config says how to reach an S3-compatible bucket (Backblaze B2 first).
type Config struct {
	Endpoint        string // e.g. https://s3.us-west-004.backblazeb2.com
	Region          string // default: RegionFromEndpoint(Endpoint), else us-east-1
	Bucket          string
	Prefix          string // keys are stored under Prefix/ (optional)
	AccessKeyID     string
	SecretAccessKey string

	PartSize    int64        // multipart part size (and Get range size, up to 8 MiB); default 16 MiB, at least 5 MiB
	Concurrency int          // parts in flight per Put or Get; default 4
	HTTPClient  *http.Client // default: a client with connect/header timeouts
	// CAPEM holds extra certificate authorities (PEM) the endpoint's
	// certificate chains to: a private S3 server, or a test one. scn's
	// own client trusts them (unless HTTPClient is given) and so does its
	// agent on machines (CertificateAuthorities).
	CAPEM       []byte
	MaxAttempts int           // per request, including the first; default 5
	MaxBackoff  time.Duration // caps the retry delay; default 20 s (tests make it tiny)
}

// Store is a store.Store over an S3 bucket, path-style, with the SDK's automatic
// checksums turned off (B2 refuses their headers). Put streams a reader of
// unknown length as a multipart upload with bounded parallelism; Get reads
// ranges in parallel and hands them back in order.
//
// Memory: a Put holds at most Concurrency+2 parts, a Get Concurrency+1
// ranges of min(PartSize, 8 MiB).
type Store struct {
	client      *s3.Client
	tm          *transfermanager.Client
	bucket      string
	prefix      string
	endpoint    string
	partSize    int64
	concurrency int
	maxAttempts int
	maxBackoff  time.Duration
	ca          []byte
}

// New checks cfg and returns a store. It makes no request: a wrong
// endpoint or key shows up on first use, named in the error.
func New(ctx context.Context, cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("s3 store: endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	switch {
	case cfg.Bucket == "":
		return nil, errors.New("s3 store: no bucket given")
	case cfg.AccessKeyID == "" || cfg.SecretAccessKey == "":
		return nil, fmt.Errorf("s3 store for bucket %s: access key id and secret key are both required", cfg.Bucket)
	case cfg.PartSize != 0 && cfg.PartSize < MinPartSize:
		return nil, fmt.Errorf("s3 store: part size %d is below the S3 minimum of %d bytes", cfg.PartSize, MinPartSize)
	}
	s := &Store{
		bucket:      cfg.Bucket,
		prefix:      strings.Trim(cfg.Prefix, "/"),
		endpoint:    strings.TrimRight(cfg.Endpoint, "/"),
		partSize:    cfg.PartSize,
		concurrency: cfg.Concurrency,
		maxAttempts: cfg.MaxAttempts,
		maxBackoff:  cfg.MaxBackoff,
		ca:          cfg.CAPEM,
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.concurrency <= 0 {
		s.concurrency = 4
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 5
	}
	if s.maxBackoff <= 0 {
		s.maxBackoff = 20 * time.Second
	}
	region := cfg.Region
	if region == "" {
		region = RegionFromEndpoint(cfg.Endpoint)
	}
	if region == "" {
		region = "us-east-1"
	}
	var pool *x509.CertPool
	if len(cfg.CAPEM) > 0 {
		if pool, _ = x509.SystemCertPool(); pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(cfg.CAPEM) {
			return nil, fmt.Errorf("s3 store for bucket %s: the CA certificates given are not PEM", cfg.Bucket)
		}
	}
	var httpClient aws.HTTPClient = cfg.HTTPClient
	if cfg.HTTPClient == nil {
		httpClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			// A server that accepts a request and then says nothing is
			// retried instead of hanging the drill.
			t.ResponseHeaderTimeout = 2 * time.Minute
			t.MaxIdleConnsPerHost = 2 * s.concurrency
			if pool != nil {
				t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			}
		})
	}
	awsCfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		HTTPClient:  httpClient,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = s.maxAttempts
				o.MaxBackoff = s.maxBackoff
				o.RateLimiter = ratelimit.None // retry every part; MaxAttempts bounds it
			})
		},
		Logger: logging.Nop{},
		// B2 answers 400 to x-amz-checksum-*, x-amz-sdk-checksum-algorithm,
		// x-amz-checksum-mode and aws-chunked bodies: only send checksums
		// an operation cannot do without.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	s.client = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(s.endpoint)
	})
	s.tm = transfermanager.New(s.client, func(o *transfermanager.Options) {
		o.PartSizeBytes = s.partSize
		o.MultipartUploadThreshold = s.partSize
		o.Concurrency = s.concurrency
		// The transfer manager has its own setting, which wins over the
		// client's and defaults to WhenSupported (aws-sdk-go-v2 #3469).
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.DisableChecksumValidation = true
		o.GetObjectType = tmtypes.GetObjectRanges
		o.FailTimeout = time.Minute // abort a failed upload even if ctx is cancelled
	})
	return s, nil
}

// RegionFromEndpoint returns the region in an endpoint named like
// https://s3.<region>.backblazeb2.com (or s3.<region>.amazonaws.com), else "".
func RegionFromEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	labels := strings.Split(u.Hostname(), ".")
	if len(labels) >= 4 && labels[0] == "s3" && labels[1] != "" {
		return labels[1]
	}
	return ""
}

// String implements Store: s3://bucket/prefix at https://endpoint.
func (s *Store) String() string {
	loc := "s3://" + s.bucket
	if s.prefix != "" {
		loc += "/" + s.prefix
	}
	return loc + " at " + s.endpoint
}

func (s *Store) fullKey(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

// Put implements Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := store.CheckKey(key); err != nil {
		return 0, fmt.Errorf("%s: %w", s, err)
	}
	// Hiding any Seek method keeps the transfer manager streaming (it
	// would otherwise try to size the body) and counts what we send.
	body := &countingReader{r: r}
	_, err := s.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.fullKey(key)),
		Body:   body,
	})
	if err != nil {
		return body.n.Load(), s.fail("put", key, err)
	}
	return body.n.Load(), nil
}

// Stat implements Store.
func (s *Store) Stat(ctx context.Context, key string) (store.Object, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Object{}, fmt.Errorf("%s: %w", s, err)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key))})
	if err != nil {
		return store.Object{}, s.fail("stat", key, err)
	}
	return store.Object{Key: key, Size: aws.ToInt64(out.ContentLength), Modified: aws.ToTime(out.LastModified).UTC()}, nil
}

// Get implements Store: ranges of PartSize are fetched Concurrency at a
// time and read back in order.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.fullKey(key))})
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	return newRangeReader(ctx, s, key, aws.ToInt64(head.ContentLength), aws.ToString(head.ETag)), nil
}

// List implements Store.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	full := s.fullKey(prefix)
	if s.prefix != "" && prefix == "" {
		full = s.prefix + "/"
	}
	var objs []store.Object
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(full)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s.fail("list", prefix+"*", err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if s.prefix != "" {
				key = strings.TrimPrefix(key, s.prefix+"/")
			}
			objs = append(objs, store.Object{Key: key, Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified).UTC()})
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
