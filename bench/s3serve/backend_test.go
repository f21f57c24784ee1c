package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rclone/gofakes3"
)

func mustPut(t *testing.T, b *backend, key, data string) {
	t.Helper()
	if _, err := b.PutObject(context.Background(), "bk", key, nil, strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func newTestBackend(t *testing.T) *backend {
	b := newBackend()
	if err := b.CreateBucket(context.Background(), "bk"); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRangesSpanChunks(t *testing.T) {
	b := newTestBackend(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), (2*chunkSize+100)/16+1)
	if _, err := b.PutObject(context.Background(), "bk", "big", nil, bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ start, end int64 }{{0, 10}, {chunkSize - 5, chunkSize + 5}, {chunkSize, 2*chunkSize + 50}, {int64(len(data)) - 3, int64(len(data)) - 1}} {
		obj, err := b.GetObject(context.Background(), "bk", "big", &gofakes3.ObjectRangeRequest{Start: r.start, End: r.end})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		io.Copy(&got, obj.Contents) // WriterTo
		obj.Contents.Close()
		if want := data[r.start : r.end+1]; !bytes.Equal(got.Bytes(), want) {
			t.Errorf("range %d-%d: got %d bytes, want %d equal ones", r.start, r.end, got.Len(), len(want))
		}
	}
	_, err := b.PutObject(context.Background(), "bk", "short", nil, strings.NewReader("abc"), 10)
	if !errors.Is(err, gofakes3.ErrIncompleteBody) {
		t.Errorf("short body: %v, want IncompleteBody", err)
	}
}

// A reader keeps its object's chunks: deleting and storing something else
// meanwhile must not change what it reads.
func TestOpenReaderSurvivesDeleteAndReuse(t *testing.T) {
	b := newTestBackend(t)
	first := strings.Repeat("A", chunkSize+10)
	mustPut(t, b, "k", first)
	obj, err := b.GetObject(context.Background(), "bk", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 5)
	io.ReadFull(obj.Contents, head)
	if _, err := b.DeleteObject(context.Background(), "bk", "k"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, b, "other", strings.Repeat("B", chunkSize+10))
	rest, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if got := string(head) + string(rest); got != first {
		t.Fatalf("open reader saw the chunks reused: %d bytes, %d of them A", len(got), strings.Count(got, "A"))
	}
	if n := len(b.pool.free); n != 2 {
		t.Errorf("pool holds %d free chunks after the reader closed, want the deleted object's 2", n)
	}
	if _, err := b.GetObject(context.Background(), "bk", "k", nil); err == nil {
		t.Error("deleted key still readable")
	}
}

func TestMultipartJoinsPartsAndChecksThem(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t)
	id, err := b.CreateMultipartUpload(ctx, "bk", "mp", nil)
	if err != nil {
		t.Fatal(err)
	}
	etags := map[int]string{}
	for n, s := range map[int]string{1: "first-", 2: "second-", 3: "unused"} {
		if etags[n], err = b.UploadPart(ctx, "bk", "mp", id, n, int64(len(s)), strings.NewReader(s)); err != nil {
			t.Fatal(err)
		}
	}
	bad := &gofakes3.CompleteMultipartUploadRequest{Parts: []gofakes3.CompletedPart{{PartNumber: 1, ETag: etags[1]}, {PartNumber: 2, ETag: `"0000"`}}}
	if _, _, err := b.CompleteMultipartUpload(ctx, "bk", "mp", id, bad); !errors.Is(err, gofakes3.ErrInvalidPart) {
		t.Fatalf("wrong etag: %v", err)
	}
	order := &gofakes3.CompleteMultipartUploadRequest{Parts: []gofakes3.CompletedPart{{PartNumber: 2, ETag: etags[2]}, {PartNumber: 1, ETag: etags[1]}}}
	if _, _, err := b.CompleteMultipartUpload(ctx, "bk", "mp", id, order); !errors.Is(err, gofakes3.ErrInvalidPartOrder) {
		t.Fatalf("wrong order: %v", err)
	}
	good := &gofakes3.CompleteMultipartUploadRequest{Parts: []gofakes3.CompletedPart{{PartNumber: 1, ETag: etags[1]}, {PartNumber: 2, ETag: etags[2]}}}
	if _, _, err := b.CompleteMultipartUpload(ctx, "bk", "mp", id, good); err != nil {
		t.Fatalf("after failed completions, the upload should still complete: %v", err)
	}
	obj, err := b.GetObject(ctx, "bk", "mp", &gofakes3.ObjectRangeRequest{Start: 3, End: 8})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if string(got) != "st-sec" || obj.Size != 13 || len(obj.PartSizes) != 2 {
		t.Errorf("range of the joined object: %q, size %d, parts %v", got, obj.Size, obj.PartSizes)
	}
	if _, err := b.UploadPart(ctx, "bk", "mp", id, 4, 1, strings.NewReader("x")); !errors.Is(err, gofakes3.ErrNoSuchUpload) {
		t.Errorf("part after completion: %v", err)
	}
}

func TestListFoldsPrefixesAndPages(t *testing.T) {
	b := newTestBackend(t)
	for _, k := range []string{"a/1", "a/2", "b/x/1", "b/y", "c"} {
		mustPut(t, b, k, k)
	}
	list, err := b.ListBucket(context.Background(), "bk", &gofakes3.Prefix{HasDelimiter: true, Delimiter: "/"}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes, keys []string
	for _, p := range list.CommonPrefixes {
		prefixes = append(prefixes, p.Prefix)
	}
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	if strings.Join(prefixes, ",") != "a/,b/" || strings.Join(keys, ",") != "c" {
		t.Errorf("delimited list: prefixes %v, keys %v", prefixes, keys)
	}
	page, err := b.ListBucket(context.Background(), "bk", &gofakes3.Prefix{HasPrefix: true, Prefix: "b/"}, gofakes3.ListBucketPage{Marker: "a/2", MaxKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Contents) != 1 || page.Contents[0].Key != "b/x/1" || !page.IsTruncated || page.NextMarker != "b/x/1" {
		t.Errorf("page: %+v", page)
	}
}

// Prefaulted chunks are whole, zeroed (the kernel's write is the last), and
// the ones uploads take before the pool makes new ones.
func TestPrefaultFillsThePool(t *testing.T) {
	p := &pool{}
	if err := p.prefault(3*chunkSize - 1); err != nil {
		t.Fatal(err)
	}
	if len(p.free) != 3 {
		t.Fatalf("%d chunks in the pool; want 3", len(p.free))
	}
	for _, c := range p.free {
		if len(c) != chunkSize || c[0] != 0 || c[4096] != 0 {
			t.Fatalf("a prefaulted chunk of %d bytes starts %d, page 2 %d; want whole and zeroed", len(c), c[0], c[4096])
		}
	}
	want := &p.free[2][0]
	if got := &p.get()[0]; got != want {
		t.Error("get made a new chunk while prefaulted ones were free")
	}
}
