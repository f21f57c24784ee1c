package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/atomicfile"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
)

// Names inside a bundle, under its <run-id>/ folder.
const (
	SumsFile = "SHA256SUMS"
	SigFile  = "SHA256SUMS.sig"
)

// runFiles are the run directory's reports a bundle carries when present.
var runFiles = []string{"journal.json", "metrics.json", "report.html"}

// Pack writes the evidence bundle of the run in runDir to out (a
// .tar.gz): <run-id>/ with the journal, metrics.json, report.html,
// junit.xml (rendered from the journal), evidence/ (the scenario, the
// snapshot manifests, the file lists), and SHA256SUMS over all of them in
// sha256sum's format; with signer, SHA256SUMS.sig too (Sign). It returns
// the names packed, SHA256SUMS last.
func Pack(runDir, out string, signer ssh.Signer) ([]string, error) {
	j, err := journal.Read(filepath.Join(runDir, "journal.json"))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, name := range runFiles {
		b, err := os.ReadFile(filepath.Join(runDir, name))
		switch {
		case err == nil:
			files[name] = b
		case !os.IsNotExist(err):
			return nil, err
		}
	}
	var junit bytes.Buffer
	if err := report.WriteJUnit(&junit, []*journal.Journal{j}); err != nil {
		return nil, err
	}
	files["junit.xml"] = junit.Bytes()
	root := filepath.Join(runDir, Dir)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(runDir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading the run's evidence: %w", err)
	}
	names := make([]string, 0, len(files)+2)
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	sums := Sums(files, names)
	files[SumsFile] = sums
	names = append(names, SumsFile)
	if signer != nil {
		sig, err := Sign(sums, signer)
		if err != nil {
			return nil, err
		}
		files[SigFile] = sig
		names = append(names, SigFile)
	}
	var buf bytes.Buffer
	if err := writeTarGz(&buf, j.RunID, j.EndedAt, names, files); err != nil {
		return nil, err
	}
	return names, atomicfile.WriteFile(out, buf.Bytes(), 0o644)
}

// Sums is SHA256SUMS for files in names' order: "<hex>  <name>" lines,
// which `sha256sum -c` checks.
func Sums(files map[string][]byte, names []string) []byte {
	var b strings.Builder
	for _, n := range names {
		h := sha256.Sum256(files[n])
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h[:]), n)
	}
	return []byte(b.String())
}

// writeTarGz packs the files under dir/, every one dated mod (the run's
// end): the bundle of a run is the same bytes whenever it is packed.
func writeTarGz(w io.Writer, dir string, mod time.Time, names []string, files map[string][]byte) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		h := &tar.Header{Name: path.Join(dir, n), Mode: 0o644, Size: int64(len(files[n])), ModTime: mod.UTC(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// maxBundleFile bounds what reading one file of a bundle may take.
const maxBundleFile = 1 << 30

// readBundle reads a bundle back: its folder (the run id) and its files
// by name inside it.
func readBundle(r io.Reader) (string, map[string][]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return "", nil, fmt.Errorf("not a .tar.gz: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	dir := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("reading the bundle: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			return "", nil, fmt.Errorf("entry %q is not a regular file", h.Name)
		}
		top, rest, ok := strings.Cut(path.Clean(h.Name), "/")
		if !ok || dir != "" && top != dir || strings.HasPrefix(rest, "../") {
			return "", nil, fmt.Errorf("entry %q is not inside the bundle's one folder", h.Name)
		}
		dir = top
		if _, dup := files[rest]; dup {
			return "", nil, fmt.Errorf("entry %q appears twice", h.Name)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxBundleFile+1))
		if err != nil {
			return "", nil, err
		}
		if len(b) > maxBundleFile {
			return "", nil, fmt.Errorf("entry %q is larger than 1 GiB", h.Name)
		}
		files[rest] = b
	}
	return dir, files, nil
}
