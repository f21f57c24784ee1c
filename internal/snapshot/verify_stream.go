package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sort"

	"github.com/scnlabs/scn/internal/remote"
)

// verifyStreamed checks restored files against a manifest whose hash the
// instance has no tool for (xxh3-128: a snapshot made by scn's agent,
// restored through scn because no agent fits this machine). It reads the
// files back with tar, fed their names NUL-separated, and hashes them
// here: the bytes cross the link once more, which only this fallback pays.
// Files tar cannot read are missing; a hard link tar sends as a link is
// checked against the digest of the file it names. sent (optional) hears
// each write of the stream back, as it crosses the machine's link.
func verifyStreamed(ctx context.Context, ex remote.Execer, dir string, m *Manifest, res *RestoreResult, sent func(int64)) error {
	want := map[string]Entry{}
	var names bytes.Buffer
	for _, e := range m.Entries {
		if e.Type == TypeFile || e.Type == TypeHardlink {
			want[e.Path] = e
			names.WriteString("./" + e.Path + "\x00") // never read as an option
		}
	}
	res.Mismatched, res.Missing = []string{}, []string{}
	if len(want) == 0 {
		return nil
	}
	out, outW := io.Pipe()
	parsed := make(chan error, 1)
	go func() {
		parsed <- hashTarStream(out, m.HashAlgorithm, want, res)
		out.CloseWithError(io.ErrClosedPipe) // let tar finish if parsing stopped early
	}()
	stderr := remote.NewTail(4096)
	code, err := ex.Exec(ctx, "tar -C "+remote.Quote(dir)+" --null --no-recursion -T - -cf -", &names, remote.Metered(outW, sent), stderr)
	outW.Close()
	perr := <-parsed
	switch {
	case err != nil:
		return fmt.Errorf("reading the restored files back: %w", err)
	case perr != nil:
		return perr
	// GNU tar exits 2 when some file could not be read: those are missing.
	case code != 0 && code != 2:
		return &exitError{what: "tar", code: code, stderr: stderr.String()}
	}
	for p := range want {
		res.Missing = append(res.Missing, p)
	}
	sort.Strings(res.Missing)
	sort.Strings(res.Mismatched)
	return nil
}

// hashTarStream hashes each member of a tar stream of restored files with
// alg, checks it against want and deletes it from want.
func hashTarStream(r io.Reader, alg string, want map[string]Entry, res *RestoreResult) error {
	sum, err := newHash(alg)
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	got := map[string]string{}
	bp := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(bp)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			_, err = io.Copy(io.Discard, r) // the archive's padding: tar must finish writing
			return err
		}
		if err != nil {
			return fmt.Errorf("reading the restored files back: %w", err)
		}
		name, err := memberPath(h.Name)
		if err != nil {
			return fmt.Errorf("reading the restored files back: member %q: %v", h.Name, err)
		}
		digest := ""
		switch h.Typeflag {
		case tar.TypeReg:
			sum.Reset()
			if _, err := io.CopyBuffer(sum, tr, bp[:]); err != nil {
				return fmt.Errorf("reading the restored %q back: %w", name, err)
			}
			digest = hex.EncodeToString(sum.Sum(nil))
		case tar.TypeLink:
			target, _ := memberPath(h.Linkname)
			digest = got[target]
		}
		e, ok := want[name]
		if !ok {
			return fmt.Errorf("tar sent back a file it was not asked for: %q", name)
		}
		delete(want, name)
		got[name] = digest
		if digest == e.Digest() {
			res.verified(e)
		} else {
			res.Mismatched = append(res.Mismatched, name)
		}
	}
}
