// Package storetest is the conformance suite every store.Store passes (the
// directory store and the S3 store alike), and the small helpers store tests
// share: what one store does, the others must do the same way.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/store"
)

// RandomBytes returns n reproducible pseudo-random bytes.
func RandomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	rng.Read(b)
	return b
}

// Ctx is a test context bounded to two minutes: no store call in a test hangs.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// MustPut stores data under key and fails the test unless all of it was stored.
func MustPut(t *testing.T, s store.Store, key string, data []byte) {
	t.Helper()
	n, err := s.Put(Ctx(t), key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put %s stored %d bytes, want %d", key, n, len(data))
	}
}

// MustGet reads the object under key and fails the test on any error.
func MustGet(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(Ctx(t), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// KeysOf lists the keys of objs in order.
func KeysOf(objs []store.Object) []string {
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// FailingReader returns Data, then Err: a client whose connection breaks
// mid-upload.
type FailingReader struct {
	Data []byte
	Err  error
}

func (f *FailingReader) Read(p []byte) (int, error) {
	if len(f.Data) == 0 {
		return 0, f.Err
	}
	n := copy(p, f.Data)
	f.Data = f.Data[n:]
	return n, nil
}

// Conformance checks the Store contract. newStore returns an empty store;
// bigSize is an object size spanning several upload/download parts.
func Conformance(t *testing.T, newStore func(t *testing.T) store.Store, bigSize int) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		data := []byte("hello, snapshot\n")
		MustPut(t, s, "snapshots/a/manifest.json", data)
		if got := MustGet(t, s, "snapshots/a/manifest.json"); !bytes.Equal(got, data) {
			t.Fatalf("Get = %q, want %q", got, data)
		}
		obj, err := s.Stat(Ctx(t), "snapshots/a/manifest.json")
		if err != nil {
			t.Fatal(err)
		}
		if obj.Key != "snapshots/a/manifest.json" || obj.Size != int64(len(data)) || time.Since(obj.Modified) > time.Hour {
			t.Fatalf("Stat = %+v", obj)
		}
	})
	t.Run("EmptyObject", func(t *testing.T) {
		s := newStore(t)
		MustPut(t, s, "empty", nil)
		if got := MustGet(t, s, "empty"); len(got) != 0 {
			t.Fatalf("Get = %d bytes, want 0", len(got))
		}
	})
	t.Run("LargeObjectSeveralParts", func(t *testing.T) {
		s := newStore(t)
		data := RandomBytes(bigSize, 1)
		// An io.Reader of unknown length, as from a pipe.
		n, err := s.Put(Ctx(t), "snapshots/big/data.tar.lz4", io.MultiReader(bytes.NewReader(data)))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Put = %d, %v; want %d", n, err, len(data))
		}
		got := MustGet(t, s, "snapshots/big/data.tar.lz4")
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatalf("Get returned %d bytes that differ from the %d put", len(got), len(data))
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s := newStore(t)
		MustPut(t, s, "k", []byte("one"))
		MustPut(t, s, "k", []byte("two!"))
		if got := MustGet(t, s, "k"); string(got) != "two!" {
			t.Fatalf("Get = %q", got)
		}
	})
	t.Run("MissingKey", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(Ctx(t), "snapshots/nope/manifest.json")
		if !errors.Is(err, store.ErrNotExist) || !strings.Contains(err.Error(), "snapshots/nope/manifest.json") {
			t.Fatalf("Get missing = %v; want ErrNotExist naming the key", err)
		}
		_, err = s.Stat(Ctx(t), "snapshots/nope/manifest.json")
		if !errors.Is(err, store.ErrNotExist) || !strings.Contains(err.Error(), "snapshots/nope/manifest.json") {
			t.Fatalf("Stat missing = %v; want ErrNotExist naming the key", err)
		}
	})
	t.Run("ListPrefixSorted", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"snapshots/b/x", "other/y", "snapshots/a/manifest.json", "snapshots/a/data.tar.lz4", "snapshotsZ"} {
			MustPut(t, s, k, []byte(k))
		}
		objs, err := s.List(Ctx(t), "snapshots/")
		if err != nil {
			t.Fatal(err)
		}
		want := "snapshots/a/data.tar.lz4,snapshots/a/manifest.json,snapshots/b/x"
		if got := strings.Join(KeysOf(objs), ","); got != want {
			t.Fatalf("List(snapshots/) = %s; want %s", got, want)
		}
		if objs[2].Size != int64(len("snapshots/b/x")) {
			t.Fatalf("List size = %d", objs[2].Size)
		}
		all, err := s.List(Ctx(t), "")
		if err != nil || len(all) != 5 {
			t.Fatalf("List(\"\") = %v, %v; want 5 objects", KeysOf(all), err)
		}
		none, err := s.List(Ctx(t), "nothing/")
		if err != nil || len(none) != 0 {
			t.Fatalf("List(nothing/) = %v, %v", KeysOf(none), err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		MustPut(t, s, "snapshots/a/data", []byte("x"))
		MustPut(t, s, "snapshots/a/manifest.json", []byte("y"))
		if err := s.Delete(Ctx(t), "snapshots/a/data"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(Ctx(t), "snapshots/a/data"); !errors.Is(err, store.ErrNotExist) {
			t.Fatalf("Get after Delete = %v", err)
		}
		if err := s.Delete(Ctx(t), "snapshots/a/data"); err != nil {
			t.Fatalf("Delete of a missing key = %v; want nil", err)
		}
		objs, err := s.List(Ctx(t), "snapshots/")
		if err != nil || strings.Join(KeysOf(objs), ",") != "snapshots/a/manifest.json" {
			t.Fatalf("List after Delete = %v, %v", KeysOf(objs), err)
		}
	})
	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "/abs", "a//b", "a/../b", "..", "a/./b", "dir/", "a\\b"} {
			if _, err := s.Put(Ctx(t), k, strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) succeeded; want an invalid key error", k)
			}
			if _, err := s.Get(Ctx(t), k); err == nil || errors.Is(err, store.ErrNotExist) {
				t.Errorf("Get(%q) = %v; want an invalid key error", k, err)
			}
		}
		if objs, err := s.List(Ctx(t), ""); err != nil || len(objs) != 0 {
			t.Fatalf("List after invalid puts = %v, %v", KeysOf(objs), err)
		}
	})
	t.Run("FailedPutLeavesOldObject", func(t *testing.T) {
		s := newStore(t)
		MustPut(t, s, "k", []byte("old"))
		boom := errors.New("source broke")
		// Fail after more than a part, so S3 has a multipart upload to abort.
		_, err := s.Put(Ctx(t), "k", &FailingReader{Data: RandomBytes(bigSize/2+1, 2), Err: boom})
		if !errors.Is(err, boom) && !strings.Contains(FmtErr(err), "source broke") {
			t.Fatalf("Put from a failing reader = %v; want the reader's error", err)
		}
		if got := MustGet(t, s, "k"); string(got) != "old" {
			t.Fatalf("after a failed Put the object is %d bytes; want the old one intact", len(got))
		}
		_, err = s.Put(Ctx(t), "fresh", &FailingReader{Data: []byte("partial"), Err: boom})
		if err == nil {
			t.Fatal("Put from a failing reader succeeded")
		}
		if _, err := s.Stat(Ctx(t), "fresh"); !errors.Is(err, store.ErrNotExist) {
			t.Fatalf("a failed Put left an object: Stat = %v", err)
		}
		if objs, _ := s.List(Ctx(t), ""); strings.Join(KeysOf(objs), ",") != "k" {
			t.Fatalf("List after failed puts = %v", KeysOf(objs))
		}
	})
	t.Run("CancelledPut", func(t *testing.T) {
		s := newStore(t)
		ctx, cancel := context.WithCancel(Ctx(t))
		pr, pw := io.Pipe()
		go func() {
			pw.Write(RandomBytes(1000, 3))
			cancel() // the caller gives up mid-stream; the source still ends normally
			pw.Write([]byte("more"))
			pw.Close()
		}()
		if _, err := s.Put(ctx, "cancelled", pr); err == nil {
			t.Fatal("Put with a cancelled context succeeded")
		}
		pr.Close()
		if _, err := s.Stat(Ctx(t), "cancelled"); !errors.Is(err, store.ErrNotExist) {
			t.Fatalf("a cancelled Put left an object: Stat = %v", err)
		}
	})
}

// FmtErr prints an error or <nil>, for messages.
func FmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
