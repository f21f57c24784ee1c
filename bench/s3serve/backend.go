package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/rclone/gofakes3"
)

// backend is a gofakes3 backend (unversioned, with its own multipart
// uploads) keeping objects as chunk lists from a pool; see pool.
type backend struct {
	pool *pool

	mu      sync.Mutex
	buckets map[string]*bucket
	uploads map[gofakes3.UploadID]*upload
	nextID  uint64
}

var (
	_ gofakes3.Backend          = (*backend)(nil)
	_ gofakes3.MultipartBackend = (*backend)(nil)
)

type bucket struct {
	created time.Time
	objects map[string]*object
}

type object struct {
	name      string
	data      blob
	size      int64
	hash      []byte // MD5 of the content, or of the parts' MD5s
	meta      map[string]string
	modified  time.Time
	partSizes []int64
	readers   int  // open GETs
	gone      bool // deleted or replaced: chunks go back once readers is 0
}

type upload struct {
	bucket, object string
	meta           map[string]string
	parts          map[int]*part
}

type part struct {
	data blob
	md5  []byte
}

func newBackend() *backend {
	return &backend{pool: &pool{}, buckets: map[string]*bucket{}, uploads: map[gofakes3.UploadID]*upload{}}
}

func etag(hash []byte) string { return `"` + hex.EncodeToString(hash) + `"` }

// drop marks o gone and frees its chunks if nobody reads them. Locked.
func (b *backend) drop(o *object) {
	o.gone = true
	if o.readers == 0 {
		b.pool.put(o.data)
		o.data = nil
	}
}

func (b *backend) bucket(name string) (*bucket, error) {
	bk := b.buckets[name]
	if bk == nil {
		return nil, gofakes3.BucketNotFound(name)
	}
	return bk, nil
}

func (b *backend) ListBuckets(context.Context) ([]gofakes3.BucketInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []gofakes3.BucketInfo
	for name, bk := range b.buckets {
		out = append(out, gofakes3.BucketInfo{Name: name, CreationDate: gofakes3.NewContentTime(bk.created)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ListBucket lists keys in order, folding those past a delimiter into
// common prefixes, one page at a time, as gofakes3's s3mem does.
func (b *backend) ListBucket(_ context.Context, name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, err := b.bucket(name)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(bk.objects))
	for k := range bk.objects {
		if page.Marker == "" || k > page.Marker {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	list := gofakes3.NewObjectList()
	var match gofakes3.PrefixMatch
	var lastPrefix string
	var count int64
	for i, k := range keys {
		if !prefix.Match(k, &match) {
			continue
		}
		if match.CommonPrefix {
			if match.MatchedPart == lastPrefix {
				continue
			}
			list.AddPrefix(match.MatchedPart)
			lastPrefix = match.MatchedPart
		} else {
			o := bk.objects[k]
			list.Add(&gofakes3.Content{Key: k, LastModified: gofakes3.NewContentTime(o.modified), ETag: etag(o.hash), Size: o.size})
		}
		if count++; page.MaxKeys > 0 && count >= page.MaxKeys {
			list.NextMarker = k
			list.IsTruncated = i < len(keys)-1
			break
		}
	}
	return list, nil
}

func (b *backend) CreateBucket(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[name] != nil {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	b.buckets[name] = &bucket{created: time.Now(), objects: map[string]*object{}}
	return nil
}

func (b *backend) BucketExists(_ context.Context, name string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buckets[name] != nil, nil
}

func (b *backend) DeleteBucket(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, err := b.bucket(name)
	if err != nil {
		return err
	}
	if len(bk.objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	delete(b.buckets, name)
	return nil
}

func (b *backend) HeadObject(ctx context.Context, bucketName, key string) (*gofakes3.Object, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.object(bucketName, key)
	if err != nil {
		return nil, err
	}
	return &gofakes3.Object{Name: key, Metadata: o.meta, Size: o.size, Hash: o.hash, PartSizes: o.partSizes,
		Contents: io.NopCloser(eofReader{})}, nil
}

func (b *backend) object(bucketName, key string) (*object, error) {
	bk, err := b.bucket(bucketName)
	if err != nil {
		return nil, err
	}
	o := bk.objects[key]
	if o == nil {
		return nil, gofakes3.KeyNotFound(key)
	}
	return o, nil
}

func (b *backend) GetObject(ctx context.Context, bucketName, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.object(bucketName, key)
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(o.size)
	if err != nil {
		return nil, err
	}
	start, length := int64(0), o.size
	if rng != nil {
		start, length = rng.Start, rng.Length
	}
	o.readers++
	release := func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if o.readers--; o.readers == 0 && o.gone {
			b.drop(o)
		}
	}
	return &gofakes3.Object{Name: key, Metadata: o.meta, Size: o.size, Hash: o.hash, Range: rng, PartSizes: o.partSizes,
		Contents: newBlobReader(o.data, start, length, release)}, nil
}

// put replaces key with o. Locked.
func (b *backend) put(bucketName, key string, o *object) error {
	bk, err := b.bucket(bucketName)
	if err != nil {
		return err
	}
	if old := bk.objects[key]; old != nil {
		b.drop(old)
	}
	bk.objects[key] = o
	return nil
}

func (b *backend) PutObject(ctx context.Context, bucketName, key string, meta map[string]string, input io.Reader, size int64) (gofakes3.PutObjectResult, error) {
	data, sum, err := readBlob(b.pool, input, size) // unlocked: a slow client must not stall the others
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o := &object{name: key, data: data, size: data.size(), hash: sum, meta: meta, modified: time.Now()}
	if err := b.put(bucketName, key, o); err != nil {
		b.pool.put(data)
		return gofakes3.PutObjectResult{}, err
	}
	return gofakes3.PutObjectResult{}, nil
}

func (b *backend) DeleteObject(_ context.Context, bucketName, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, err := b.bucket(bucketName)
	if err != nil {
		return gofakes3.ObjectDeleteResult{}, err
	}
	if o := bk.objects[key]; o != nil { // a missing key is no error, as in S3
		delete(bk.objects, key)
		b.drop(o)
	}
	return gofakes3.ObjectDeleteResult{}, nil
}

func (b *backend) DeleteMulti(ctx context.Context, bucketName string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	var res gofakes3.MultiDeleteResult
	for _, k := range keys {
		if _, err := b.DeleteObject(ctx, bucketName, k); err != nil {
			res.Error = append(res.Error, gofakes3.ErrorResultFromError(err))
			continue
		}
		res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: k})
	}
	return res, nil
}

func (b *backend) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	src, err := b.GetObject(ctx, srcBucket, srcKey, nil)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer src.Contents.Close()
	if _, err := b.PutObject(ctx, dstBucket, dstKey, meta, src.Contents, src.Size); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{ETag: etag(src.Hash), LastModified: gofakes3.NewContentTime(time.Now())}, nil
}

func (b *backend) CreateMultipartUpload(_ context.Context, bucketName, key string, meta map[string]string) (gofakes3.UploadID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.bucket(bucketName); err != nil {
		return "", err
	}
	b.nextID++
	id := gofakes3.UploadID(fmt.Sprintf("%d-%d", time.Now().UnixNano(), b.nextID))
	b.uploads[id] = &upload{bucket: bucketName, object: key, meta: meta, parts: map[int]*part{}}
	return id, nil
}

func (b *backend) upload(bucketName, key string, id gofakes3.UploadID) (*upload, error) {
	u := b.uploads[id]
	if u == nil || u.bucket != bucketName || u.object != key {
		return nil, gofakes3.ErrNoSuchUpload
	}
	return u, nil
}

func (b *backend) UploadPart(_ context.Context, bucketName, key string, id gofakes3.UploadID, number int, size int64, body io.Reader) (string, error) {
	data, sum, err := readBlob(b.pool, body, size)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.upload(bucketName, key, id)
	if err != nil {
		b.pool.put(data)
		return "", err
	}
	if old := u.parts[number]; old != nil {
		b.pool.put(old.data)
	}
	u.parts[number] = &part{data: data, md5: sum}
	return etag(sum), nil
}

// CompleteMultipartUpload joins the listed parts' chunk lists: no copy.
func (b *backend) CompleteMultipartUpload(_ context.Context, bucketName, key string, id gofakes3.UploadID, in *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.upload(bucketName, key, id)
	if err != nil {
		return "", "", err
	}
	for i, p := range in.Parts { // all checked before anything moves
		if i > 0 && p.PartNumber <= in.Parts[i-1].PartNumber {
			return "", "", gofakes3.ErrInvalidPartOrder
		}
		if got := u.parts[p.PartNumber]; got == nil || etag(got.md5) != `"`+trimQuotes(p.ETag)+`"` {
			return "", "", gofakes3.ErrInvalidPart
		}
	}
	o := &object{name: key, meta: u.meta, modified: time.Now()}
	sums := md5.New()
	for _, p := range in.Parts {
		got := u.parts[p.PartNumber]
		o.data = append(o.data, got.data...)
		o.partSizes = append(o.partSizes, got.data.size())
		o.size += got.data.size()
		sums.Write(got.md5)
		delete(u.parts, p.PartNumber)
	}
	for _, p := range u.parts { // uploaded but not listed: S3 discards them
		b.pool.put(p.data)
	}
	delete(b.uploads, id)
	o.hash = sums.Sum(nil)
	if err := b.put(bucketName, key, o); err != nil {
		b.pool.put(o.data)
		return "", "", err
	}
	return "", etag(o.hash), nil
}

func (b *backend) AbortMultipartUpload(_ context.Context, bucketName, key string, id gofakes3.UploadID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.upload(bucketName, key, id)
	if err != nil {
		return err
	}
	for _, p := range u.parts {
		b.pool.put(p.data)
	}
	delete(b.uploads, id)
	return nil
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
