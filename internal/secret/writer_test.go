package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorder is an underlying writer that shows what has been passed on so far.
type recorder struct {
	bytes.Buffer
	closed bool
	fail   error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	return r.Buffer.Write(p)
}

func (r *recorder) Close() error { r.closed = true; return nil }

func TestWriterHoldsBackOnlyPossibleSecrets(t *testing.T) {
	m := New("s3cr3t", "pin")
	var rec recorder
	w := m.Writer(&rec)
	steps := []struct{ write, passed string }{
		{"uploading 10%\r", "uploading 10%\r"}, // nothing could start a secret: all out at once
		{"token: s3c", "uploading 10%\rtoken: "},
		{"r3", "uploading 10%\rtoken: "},
		{"t done, pi", "uploading 10%\rtoken: *** done, "},
		{"n", "uploading 10%\rtoken: *** done, "}, // "pin" needs the next byte: "pins" is no secret
		{"s pin", "uploading 10%\rtoken: *** done, pins "},
	}
	for _, s := range steps {
		if n, err := w.Write([]byte(s.write)); err != nil || n != len(s.write) {
			t.Fatalf("Write(%q) = %d, %v", s.write, n, err)
		}
		if rec.String() != s.passed {
			t.Fatalf("after %q: passed %q, want %q", s.write, rec.String(), s.passed)
		}
	}
	if err := w.Close(); err != nil || rec.String() != "uploading 10%\rtoken: *** done, pins ***" {
		t.Fatalf("after Close: %q, %v", rec.String(), err)
	}
	if rec.closed {
		t.Fatal("Close must not close the underlying writer")
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWriterSecretAddedMidStream(t *testing.T) {
	m := New()
	var rec recorder
	w := m.Writer(&rec)
	fmt.Fprint(w, "before key-123456 ")
	m.Add("key-123456")
	fmt.Fprint(w, "after key-12")
	fmt.Fprint(w, "3456 end")
	w.Flush()
	if got := rec.String(); got != "before key-123456 after *** end" {
		t.Fatal(got)
	}
}

func TestWriterStickyError(t *testing.T) {
	rec := recorder{fail: errors.New("pipe closed")}
	w := New("abcd").Writer(&rec)
	if _, err := w.Write([]byte("hello")); err == nil {
		t.Fatal("want the underlying error")
	}
	rec.fail = nil
	if _, err := w.Write([]byte("hello")); err == nil || w.Flush() == nil {
		t.Fatal("the error must stick")
	}
}

func TestWriteFile(t *testing.T) {
	m := New("gpu-key-987654")
	path := filepath.Join(t.TempDir(), "runs", "r1", "report.html")
	err := m.WriteFile(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "key=gpu-key-")
		if err == nil {
			_, err = io.WriteString(w, "987654 end")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "key=*** end" {
		t.Fatalf("file holds %q (%v), want the secret masked across writes", b, err)
	}
	err = m.WriteFile(path, func(io.Writer) error { return errors.New("template broke") })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "template broke") {
		t.Fatalf("a failing fill: %v, want an error naming the file and the cause", err)
	}
}

func TestWriterConcurrent(t *testing.T) {
	const key = "gpu-key-987654"
	var rec recorder
	w := New(key).Writer(&rec)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				fmt.Fprintf(w, "g%d line %d key=%s ok\n", g, i, key)
			}
		})
	}
	wg.Wait()
	w.Close()
	out := rec.String()
	if strings.Contains(out, key) || strings.Count(out, "key=*** ok\n") != 800 {
		t.Fatalf("concurrent output wrong: %d masks", strings.Count(out, Mask))
	}
}

// TestWriterSplitsProperty streams random text full of overlapping secrets
// through the Writer cut at random points: the output must be exactly
// String of the whole input, whatever the cuts.
func TestWriterSplitsProperty(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	const alphabet = "abcd_ .é\n*"
	word := func(min, max int) string {
		var sb strings.Builder
		for range min + r.IntN(max-min+1) {
			sb.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return sb.String()
	}
	for iter := range 2000 {
		secrets := []string{"abc", "abcd", "bcda", "cd"}
		for range r.IntN(4) {
			secrets = append(secrets, word(1, 9))
		}
		m := New(secrets...)
		var in strings.Builder
		for range r.IntN(30) {
			if r.IntN(2) == 0 {
				in.WriteString(secrets[r.IntN(len(secrets))])
			} else {
				in.WriteString(word(0, 6))
			}
		}
		input := in.String()
		var out bytes.Buffer
		w := m.Writer(&out)
		for rest := input; rest != ""; {
			n := min(len(rest), r.IntN(8))
			w.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		w.Close()
		if want := m.String(input); out.String() != want {
			t.Fatalf("iteration %d (seed %d): secrets %q\ninput  %q\nstream %q\nString %q", iter, seed, secrets, input, out.String(), want)
		}
	}
}

func FuzzMaskWriter(f *testing.F) {
	f.Add("abcd", "cdef", []byte("xxabcdefxx abc abcd"), []byte{3, 1, 4})
	f.Add("abc", "abcd", []byte("abc abcd abcx"), []byte{1})
	f.Fuzz(func(t *testing.T, s1, s2 string, input, cuts []byte) {
		m := New(s1, s2, "pin")
		var out bytes.Buffer
		w := m.Writer(&out)
		rest := input
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if i < len(cuts) {
				n = min(n, int(cuts[i]))
			}
			w.Write(rest[:n])
			rest = rest[n:]
		}
		w.Close()
		want := m.String(string(input))
		if out.String() != want {
			t.Fatalf("stream %q != String %q", out.String(), want)
		}
		for _, s := range []string{s1, s2} {
			s = strings.TrimSpace(s)
			// A secret may show up again only by gluing text to a Mask.
			if len(s) >= MinLen && !strings.Contains(s, "*") && strings.Contains(want, s) {
				t.Fatalf("secret %q left in %q", s, want)
			}
		}
	})
}
