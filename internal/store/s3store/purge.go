package s3store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/scnlabs/scn/internal/store"
)

// Deleting on a versioned bucket (Backblaze B2 keeps every version by
// default) only hides an object behind a delete marker: the bytes stay
// stored and billed. So Delete and Purge list the versions and delete
// each by its VersionId, which removes it for good, and the delete
// markers the same way
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html,
// https://www.backblaze.com/docs/cloud-storage-s3-compatible-api: B2
// answers ListObjectVersions and DeleteObject with versionId). One
// DeleteObject per version rather than DeleteObjects: that call requires
// a checksum header B2 refuses.
var _ store.Purger = (*Store)(nil)

// version is one version or delete marker of an object.
type version struct{ key, id string }

// versions lists every version and delete marker under the full prefix;
// with exact, only those of the key equal to it.
func (s *Store) versions(ctx context.Context, full string, exact bool) ([]version, error) {
	var out []version
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(full)}
	// Bounded: a listing that keeps saying "more" without moving on would
	// otherwise loop forever.
	for page := 0; page < 100000; page++ {
		res, err := s.client.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range res.Versions {
			out = append(out, version{aws.ToString(v.Key), aws.ToString(v.VersionId)})
		}
		for _, m := range res.DeleteMarkers {
			out = append(out, version{aws.ToString(m.Key), aws.ToString(m.VersionId)})
		}
		if !aws.ToBool(res.IsTruncated) || (res.NextKeyMarker == nil && res.NextVersionIdMarker == nil) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = res.NextKeyMarker, res.NextVersionIdMarker
	}
	if exact {
		kept := out[:0]
		for _, v := range out {
			if v.key == full {
				kept = append(kept, v)
			}
		}
		out = kept
	}
	return out, nil
}

// deleteVersion removes one version for good. A server without
// versioning lists each object as version "null" and may not know
// deleting by version (NotImplemented): there the plain delete removes it.
func (s *Store) deleteVersion(ctx context.Context, v version) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(v.key)}
	if v.id != "" {
		in.VersionId = aws.String(v.id)
	}
	_, err := s.client.DeleteObject(ctx, in)
	var apiErr smithy.APIError
	if err != nil && v.id == "null" && errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotImplemented" {
		_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(v.key)})
	}
	return err
}

// deleteVersions removes each of vs and returns how many it removed.
func (s *Store) deleteVersions(ctx context.Context, vs []version) (int, error) {
	for i, v := range vs {
		if err := s.deleteVersion(ctx, v); err != nil {
			if err = s.fail("delete version "+v.id+" of", s.relKey(v.key), err); errors.Is(err, store.ErrNotExist) {
				continue // gone meanwhile: what we wanted
			}
			return i, err
		}
	}
	return len(vs), nil
}

// Delete implements Store: every version of key and every delete marker
// goes, so nothing of the object stays hidden and billed.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	vs, err := s.versions(ctx, s.fullKey(key), true)
	if err != nil {
		if err = s.fail("list versions of", key, err); errors.Is(err, store.ErrNotExist) {
			return nil
		}
		return err
	}
	_, err = s.deleteVersions(ctx, vs)
	return err
}

// Purge implements store.Purger: every version and delete marker under
// prefix, and every unfinished multipart upload (whose parts B2 and S3
// keep, and bill, until it is aborted: a writer killed mid-upload leaves
// one). It returns how many of them it removed.
func (s *Store) Purge(ctx context.Context, prefix string) (int, error) {
	if err := store.CheckKey(strings.TrimSuffix(prefix, "/")); err != nil {
		return 0, fmt.Errorf("%s: %w", s, err)
	}
	full := s.fullKey(prefix)
	aborted, err := s.abortUploads(ctx, full)
	if err != nil {
		return aborted, err
	}
	vs, err := s.versions(ctx, full, false)
	if err != nil {
		return aborted, s.fail("list versions under", prefix, err)
	}
	n, err := s.deleteVersions(ctx, vs)
	return aborted + n, err
}

// abortUploads aborts every multipart upload under the full prefix.
func (s *Store) abortUploads(ctx context.Context, full string) (int, error) {
	type upload struct{ key, id string }
	var ups []upload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(full)}
	for page := 0; page < 100000; page++ {
		res, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return 0, s.fail("list uploads under", s.relKey(full), err)
		}
		for _, u := range res.Uploads {
			ups = append(ups, upload{aws.ToString(u.Key), aws.ToString(u.UploadId)})
		}
		if !aws.ToBool(res.IsTruncated) || (res.NextKeyMarker == nil && res.NextUploadIdMarker == nil) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = res.NextKeyMarker, res.NextUploadIdMarker
	}
	for i, u := range ups {
		if err := s.AbortUpload(ctx, s.relKey(u.key), u.id); err != nil {
			return i, err
		}
	}
	return len(ups), nil
}

// relKey is the store key of a full bucket key (the prefix taken off).
func (s *Store) relKey(full string) string {
	if s.prefix == "" {
		return full
	}
	return strings.TrimPrefix(full, s.prefix+"/")
}
