package files

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/md5"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/md5check"
	"github.com/scnlabs/scn/internal/remote"
)

// CreateOptions say what Write puts on the machine.
type CreateOptions struct {
	Dir    string // absolute directory on the machine; created if missing
	Count  int    // files test-file-1.txt … test-file-<Count>.txt
	Size   int64  // exact size of each file; 0 = the text header only
	Prefix string // file name before the number ("test-file-")
	RunID  string // written into every file so runs never collide
	// Progress, when set, is told how many bytes have been sent so far.
	Progress func(done, total int64)
	// Moved, when set, hears the tar stream's bytes as the machine takes
	// them (as received: they cross its link, which a provider may bill).
	Moved func(sent, received int64)
}

// Written is a file Write created.
type Written struct {
	File
	// Content is the file's text when it is text only, "" when it is
	// padded with random bytes (see encodeList).
	Content string
}

// Write creates the files in one tar stream (binary-safe, any size, one
// round trip), computing each MD5 locally as the bytes leave, then hashes
// them on the machine in a second round trip and fails, naming the files,
// if what landed differs from what was sent.
func Write(ctx context.Context, x remote.Execer, o CreateOptions) ([]Written, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	files, headers, total, err := o.plan(time.Now)
	if err != nil {
		return nil, err
	}
	if err := send(ctx, x, o, files, headers, total); err != nil {
		return nil, err
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	got, err := md5check.Inspect(ctx, x, paths)
	if err != nil {
		return nil, fmt.Errorf("checking the files written in %s: %w", o.Dir, err)
	}
	var bad []string
	for i, f := range files {
		g := got[i]
		if g.State != md5check.StateOK || !strings.EqualFold(g.MD5, f.MD5) || g.Size != f.Size {
			bad = append(bad, fmt.Sprintf("%s (sent md5 %s, %d bytes; machine has %s)", f.Path, f.MD5, f.Size, g.Describe()))
		}
	}
	if len(bad) > 0 {
		return files, fmt.Errorf("%d of %d files differ on the machine after writing: %s", len(bad), len(files), listSome(bad, 10))
	}
	return files, nil
}

func (o CreateOptions) check() error {
	if err := checkDir(o.Dir); err != nil {
		return fmt.Errorf("dir %w", err)
	}
	switch {
	case o.Count < 1:
		return fmt.Errorf("count is %d: at least one file is needed", o.Count)
	case o.Size < 0:
		return fmt.Errorf("size %d is negative", o.Size)
	}
	if err := checkPrefix(o.Prefix); err != nil {
		return fmt.Errorf("prefix %w", err)
	}
	return nil
}

// checkDir refuses a directory on the machine that is not absolute: the
// files' recorded paths are absolute, and a relative one would depend on
// where the remote shell starts.
func checkDir(d string) error {
	if !path.IsAbs(d) {
		return actions.WithHint(fmt.Errorf("%q is not an absolute path on the machine", d),
			fmt.Sprintf("write it from the root, e.g. %q, or leave dir out for the instance's workspace", path.Join("/workspace", d)))
	}
	return nil
}

// checkPrefix keeps every file directly in the directory, which is what
// lets files.verify find them again by their common directory.
func checkPrefix(p string) error {
	if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\x00") {
		return actions.WithHint(fmt.Errorf("%q is not a plain file name start (no '/')", p),
			"files go directly in dir: put the folder in dir (an absolute path) and keep prefix a name start, e.g. "+suggestPrefix(p))
	}
	return nil
}

// suggestPrefix is p's last part, or the default.
func suggestPrefix(p string) string {
	if b := path.Base(p); b != "" && b != "." && b != ".." && b != "/" && !strings.HasSuffix(p, "/") {
		return strconv.Quote(b)
	}
	return `"test-file-"`
}

// Dir is a directory on the machine (dir: of files.create and
// files.verify): an absolute path, or "" for the instance's workspace.
// Decoding applies the rule the actions apply when they run (checkDir), so
// a literal relative dir is refused by scn validate at its line and a
// computed one before the step touches the machine.
type Dir string

// DecodeParam implements actions.ParamDecoder.
func (d *Dir) DecodeParam(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected an absolute directory on the machine, got %s", actions.Describe(v))
	}
	if s != "" {
		if err := checkDir(s); err != nil {
			return err
		}
	}
	*d = Dir(s)
	return nil
}

// Prefix is the start of files.create's file names; decoding applies
// checkPrefix, the rule files.create applies when it runs.
type Prefix string

// DecodeParam implements actions.ParamDecoder.
func (p *Prefix) DecodeParam(v any) error {
	s, err := actions.TextParam(v, "the start of a file name")
	if err != nil {
		return err
	}
	if err := checkPrefix(s); err != nil {
		return err
	}
	*p = Prefix(s)
	return nil
}

// header is the seed's file text: the number, the time twice and the run
// make every file unique per file and per run.
func header(i int, now time.Time, runID string) string {
	return fmt.Sprintf("Test file #%d\nCreated at: %s\nTimestamp: %d\nRun: %s\n",
		i, now.UTC().Format(time.RFC3339Nano), now.UnixNano(), runID)
}

// plan names the files and fixes their text and size; the MD5 is filled in
// as they are sent. headers[i] is the text that starts file i.
func (o CreateOptions) plan(now func() time.Time) (files []Written, headers []string, total int64, err error) {
	files, headers = make([]Written, o.Count), make([]string, o.Count)
	for i := range files {
		n := i + 1
		rel := o.Prefix + strconv.Itoa(n) + ".txt"
		text := header(n, now(), o.RunID)
		f := Written{File: File{Path: path.Join(o.Dir, rel), Rel: rel, Size: int64(len(text))}, Content: text}
		if o.Size > 0 {
			if o.Size < f.Size {
				return nil, nil, 0, fmt.Errorf("size %d is smaller than the %d-byte header that makes each file unique", o.Size, f.Size)
			}
			if o.Size > f.Size {
				f.Size, f.Content = o.Size, "" // padded with random bytes: not text
			}
		}
		files[i], headers[i] = f, text
		total += f.Size
	}
	return files, headers, total, nil
}

// errRemoteStopped unblocks the tar writer when the remote side is done.
var errRemoteStopped = errors.New("the machine stopped reading")

// send streams the files as one tar archive into `tar -x` on the machine.
func send(ctx context.Context, x remote.Execer, o CreateOptions, files []Written, headers []string, total int64) error {
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	var arrived func(int64) // what the machine's side of the pipe took: received
	if o.Moved != nil {
		arrived = func(n int64) { o.Moved(0, n) }
	}
	out := remote.Metered(pw, arrived)
	go func() {
		err := writeTar(out, files, headers, &counter{total: total, report: o.Progress})
		pw.CloseWithError(err)
		written <- err
	}()
	dir := remote.Quote(o.Dir)
	var stderr bytes.Buffer
	code, err := x.Exec(ctx, "mkdir -p -- "+dir+" && tar -C "+dir+" -xf -", pr, nil, &stderr)
	pr.CloseWithError(errRemoteStopped)
	werr := <-written // after this, files[i].MD5 are set
	switch {
	case err != nil:
		return fmt.Errorf("sending files to %s: %w", o.Dir, err)
	case code != 0:
		msg := strings.TrimSpace(stderr.String())
		if werr != nil && !errors.Is(werr, errRemoteStopped) {
			msg += " (after the local stream failed: " + werr.Error() + ")"
		}
		return fmt.Errorf("writing files in %s: mkdir/tar exited %d: %s", o.Dir, code, msg)
	case werr != nil && !errors.Is(werr, errRemoteStopped):
		return fmt.Errorf("sending files to %s: %w", o.Dir, werr)
	}
	// A tar that exits 0 without reading the archive's zero trailer is
	// fine: Inspect checks every byte that matters.
	return nil
}

// writeTar writes each file's header text and random padding, hashing the
// bytes as they go so the MD5 is of exactly what was sent.
func writeTar(w io.Writer, files []Written, headers []string, progress io.Writer) error {
	tw := tar.NewWriter(w)
	mtime := time.Now()
	for i := range files {
		f := &files[i]
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Rel, Mode: 0o644, Size: f.Size, ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", f.Rel, err)
		}
		h := md5.New()
		dst := io.MultiWriter(tw, h, progress)
		if _, err := io.WriteString(dst, headers[i]); err != nil {
			return err
		}
		if pad := f.Size - int64(len(headers[i])); pad > 0 {
			// A fresh random seed per file: no two files share padding.
			var seed [32]byte
			crand.Read(seed[:])
			if _, err := io.CopyN(dst, rand.NewChaCha8(seed), pad); err != nil {
				return err
			}
		}
		f.MD5 = hex.EncodeToString(h.Sum(nil))
	}
	return tw.Close()
}

// counter counts the files' bytes as they are sent and reports every few
// MiB and at the end.
type counter struct {
	done, total, reported int64
	report                func(done, total int64)
}

const progressEvery = 4 << 20

func (c *counter) Write(p []byte) (int, error) {
	c.done += int64(len(p))
	if c.report != nil && (c.done-c.reported >= progressEvery || c.done == c.total) {
		c.reported = c.done
		c.report(c.done, c.total)
	}
	return len(p), nil
}

// listSome joins up to n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
