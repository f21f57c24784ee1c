package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/units"
)

// The machine side: what scn's agent (internal/agent) runs on the instance
// itself, with the same pieces as Create and Restore — tar, the recorder,
// LZ4, the hostile-entry filter and the manifest checks — so a snapshot
// made either way restores either way, and is refused for the same reasons.

// ArchiveOptions say what to snapshot on this machine and where the data
// goes.
type ArchiveOptions struct {
	Path    string   // directory to snapshot
	Exclude []string // GNU tar --exclude patterns, as CreateOptions
	Hash    string   // per-file hash algorithm: HashXXH3, or "" for MD5
	// Put stores the LZ4 stream and returns the bytes stored. When ctx
	// ends or r fails, it must return an error and discard what it
	// stored.
	Put      func(ctx context.Context, r io.Reader) (int64, error)
	Progress func(done int64) // bytes of tar stream read so far (optional)
	// Entries, when set, hears the entries as they are recorded, in
	// archive order, a batch at a time, the last one before Archive
	// returns (the agent sends them on while the bytes move). The batch is
	// the callee's; the returned manifest then lists no entries.
	Entries func([]Entry)
}

// Archive snapshots o.Path as this machine's own tar decides (so --exclude
// means what it means on the SSH path): with GNU tar, tar lists the
// entries and Archive writes the stream itself (walkTar); with another
// tar, that tar writes it. It hashes each file with o.Hash and
// returns the manifest's data fields: entries (unless o.Entries heard
// them), counts, sizes and hash algorithm. Whoever asked for the snapshot
// names, dates and writes it.
func Archive(ctx context.Context, o ArchiveOptions) (*Manifest, error) {
	if o.Path == "" || o.Put == nil {
		return nil, errors.New("archive: Path and Put are required")
	}
	if _, err := newHash(o.Hash); err != nil {
		return nil, err
	}
	var rec *recording
	var stored int64
	var err error
	if localTar() == gnuTar {
		rec, stored, err = archiveWalk(ctx, walkTar(o.Path, o.Exclude), o.Hash, o.Entries, o.Put, o.Progress)
	} else {
		src := execTar(remote.Shell{}, tarCommand(o.Path, o.Exclude, localTarRecords()))
		rec, stored, err = archive(ctx, src, o.Hash, o.Entries, o.Put, o.Progress)
	}
	if err != nil {
		return nil, err
	}
	m := &Manifest{FormatVersion: FormatVersion, Format: "tar+lz4", HashAlgorithm: rec.hash, Counts: rec.counts,
		BytesRaw: rec.bytesRaw, BytesFiles: rec.bytesFiles, BytesStored: stored, Entries: rec.entries}
	if stored > 0 {
		m.Ratio = float64(rec.bytesRaw) / float64(stored)
	}
	return m, nil
}

// The machine's tar, asked once per agent (tar --version).
const (
	gnuTar   = "GNU tar"
	bsdTar   = "bsdtar"
	otherTar = "" // busybox's, or none
)

var localTar = sync.OnceValue(func() string {
	out, err := exec.Command("tar", "--version").Output()
	switch {
	case err != nil:
		return otherTar
	case bytes.Contains(out, []byte(gnuTar)):
		return gnuTar
	case bytes.Contains(out, []byte(bsdTar)):
		return bsdTar
	}
	return otherTar
})

// localTarRecords is the option that makes this machine's tar write
// 64 KiB records instead of its default 10 KiB ones, or "" when its tar
// may not know it (busybox's does not): a sixth of the write calls, which
// took a fifth of the agent's snapshot CPU (make bench-snapshot). The
// last record is padded to 64 KiB of zeros, which restores skip as they
// skip the default padding. (With GNU tar the agent writes the stream
// itself: walkTar.)
func localTarRecords() string {
	if localTar() != otherTar {
		return "-b 128"
	}
	return ""
}

// UnpackOptions say what to restore on this machine.
type UnpackOptions struct {
	Data     io.Reader // the data object: an LZ4 frame of the tar stream
	Manifest *Manifest // checked (ReadManifest or ParseManifest)
	Path     string    // target directory (created if missing)
	Verify   bool      // re-read every restored file and check its hash
	Writers  int       // files written at once (default 2×GOMAXPROCS, 4 to 16)
	Progress func(done int64)
}

// Unpack restores a snapshot into o.Path on this machine: the stream goes
// through the same filter as Restore's, then into a staging directory
// inside Path with Writers files written at once; with Verify every file
// is read back and hashed there; only then is everything moved into place
// as Restore does. Any failure — a refused entry, damage, a mismatch, a
// full disk — removes the staging directory and leaves Path as it was.
// Seconds covers the transfer, extraction and move, not the verification.
func Unpack(ctx context.Context, o UnpackOptions) (*RestoreResult, error) {
	start := time.Now()
	m := o.Manifest
	if o.Data == nil || m == nil || o.Path == "" {
		return nil, errors.New("unpack: Data, Manifest and Path are required")
	}
	writers := o.Writers
	if writers <= 0 {
		writers = min(max(4, 2*runtime.GOMAXPROCS(0)), 16)
	}
	if err := os.MkdirAll(o.Path, 0o755); err != nil {
		return nil, err
	}
	stage := filepath.Join(o.Path, ".scn-restore-"+randomHex())
	if err := os.Mkdir(stage, 0o700); err != nil {
		return nil, err
	}
	fail := func(err error) error {
		if rerr := removeTree(stage); rerr != nil {
			return fmt.Errorf("%w (and removing the staging directory %s failed: %v)", err, stage, rerr)
		}
		return err
	}
	zr, err := lz4Reader(o.Data)
	if err != nil {
		return nil, fail(err)
	}
	defer zr.Reset(nil) // stops the decompression goroutines on early exit
	x := newExtractor(stage, writers)
	if err := filterTo(zr, x, m, o.Progress); err != nil {
		x.abort()
		return nil, fail(err)
	}
	res := &RestoreResult{Files: m.Counts.Files, Hardlinks: m.Counts.Hardlinks, BytesFiles: m.BytesFiles, BytesStream: m.BytesRaw, Mismatched: []string{}, Missing: []string{}}
	extracted := time.Since(start)
	if o.Verify {
		if err := verifyHere(ctx, stage, m, writers, res); err != nil {
			return nil, fail(err)
		}
		if bad := len(res.Mismatched) + len(res.Missing); bad > 0 {
			return res, fail(fmt.Errorf("%d of %d files read back from the staging directory differ from the manifest (mismatched %v, missing %v); nothing was moved into place",
				bad, res.Files, res.Mismatched, res.Missing))
		}
	}
	moving := time.Now()
	if err := run(ctx, remote.Shell{}, "moving the restored files into place", moveScript(o.Path, filepath.Base(stage), m)); err != nil {
		return nil, fail(err)
	}
	res.Seconds = (extracted + time.Since(moving)).Seconds()
	res.MBPerSec = units.MBPerSec(res.BytesStream, res.Seconds)
	return res, nil
}

// verifyHere hashes every file and hard link of the manifest under dir,
// writers at a time, into res.
func verifyHere(ctx context.Context, dir string, m *Manifest, writers int, res *RestoreResult) error {
	var checks []Entry
	for _, e := range m.Entries {
		if e.Type == TypeFile || e.Type == TypeHardlink {
			checks = append(checks, e)
		}
	}
	var mu sync.Mutex
	work := make(chan Entry)
	var wg sync.WaitGroup
	for range min(writers, max(len(checks), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bp := copyBufs.Get().(*[copyBufSize]byte)
			defer copyBufs.Put(bp)
			for c := range work {
				got, err := hashFileWith(filepath.Join(dir, filepath.FromSlash(c.Path)), c.Size, m.HashAlgorithm, bp[:])
				mu.Lock()
				switch {
				case err != nil:
					res.Missing = append(res.Missing, c.Path)
				case got != c.Digest():
					res.Mismatched = append(res.Mismatched, c.Path)
				default:
					res.verified(c)
				}
				mu.Unlock()
			}
		}()
	}
	var err error
	for _, c := range checks {
		if err = ctx.Err(); err != nil {
			break
		}
		work <- c
	}
	close(work)
	wg.Wait()
	sort.Strings(res.Missing)
	sort.Strings(res.Mismatched)
	return err
}

// removeTree removes dir, first making its directories writable: a staged
// directory may already carry the snapshot's read-only mode.
func removeTree(dir string) error {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
