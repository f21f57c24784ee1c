package snapshot

import (
	"archive/tar"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// recording is what a snapshot's tar stream holds: the manifest's data
// fields.
type recording struct {
	entries    []Entry
	counts     Counts
	bytesRaw   int64
	bytesFiles int64
	hash       string // the entries' digest algorithm ("" is MD5)
}

// recorder describes a snapshot's tar stream entry by entry, refusing what
// a restore would refuse (entryFromHeader, tree.admit), so a snapshot that
// cannot be restored is never written. Two producers feed it: record, with
// the headers it parses out of a tar process's stream, and the agent's
// walker (walkTar), with the headers it writes, hashing each file as it
// copies it — the same checks either way, but the walker's stream is
// never read twice.
type recorder struct {
	sum     hash.Hash
	t       *tree
	rec     recording
	pending *Entry // the file whose content is going through sum

	// batch, when set, hears the entries as they are recorded, in order,
	// entriesBatch at a time (the agent sends them to scn while the bytes
	// still move), and the recording keeps only those it has not heard
	// yet: the agent's memory does not grow with them. sent counts those
	// it heard.
	batch func([]Entry)
	sent  int
}

// entriesBatch is how many entries a batch holds: ~200 KB of JSON.
const entriesBatch = 1024

// newRecorder records with per-file hash alg, handing the entries to
// batch (nil: to no one).
func newRecorder(alg string, batch func([]Entry)) (*recorder, error) {
	sum, err := newHash(alg)
	if err != nil {
		return nil, err
	}
	return &recorder{sum: sum, t: newTree(), rec: recording{hash: alg}, batch: batch}, nil
}

// refusal is a workspace entry a restore would refuse: its message is
// complete (it names the entry and says what to do).
type refusal struct {
	name string
	err  error
}

func (r *refusal) Error() string {
	return fmt.Sprintf("workspace entry %q: %v; a restore would refuse it, so exclude it", r.name, r.err)
}

// header admits the entry h describes. A file's content must then go
// through r.sum, and fileDone follows it.
func (r *recorder) header(h *tar.Header) error {
	e, err := entryFromHeader(h)
	if err == nil {
		err = r.t.admit(e)
	}
	if err != nil {
		return &refusal{name: h.Name, err: err}
	}
	switch e.Type {
	case TypeFile:
		r.sum.Reset()
		r.pending = &e
		return nil
	case TypeHardlink:
		e.setDigest(r.rec.hash, r.t.sums[e.Link])
		r.rec.counts.Hardlinks++
	case TypeDir:
		r.rec.counts.Dirs++
	case TypeSymlink:
		r.rec.counts.Symlinks++
	}
	r.add(e)
	return nil
}

// add records e, handing a full batch on.
func (r *recorder) add(e Entry) {
	if r.batch != nil && r.rec.entries == nil {
		r.rec.entries = make([]Entry, 0, entriesBatch)
	}
	r.rec.entries = append(r.rec.entries, e)
	if r.batch != nil && len(r.rec.entries) >= entriesBatch {
		r.flush()
	}
}

// flush hands the entries not yet heard to batch, whose they are from
// then on: the next ones go into a slice of their own.
func (r *recorder) flush() {
	if r.batch != nil && len(r.rec.entries) > 0 {
		r.batch(r.rec.entries)
		r.sent += len(r.rec.entries)
		r.rec.entries = nil
	}
}

// recorded is how many entries were recorded so far.
func (r *recorder) recorded() int { return r.sent + len(r.rec.entries) }

// fileDone records the pending file with the digest of its content.
func (r *recorder) fileDone() {
	e := r.pending
	r.pending = nil
	e.setDigest(r.rec.hash, hex.EncodeToString(r.sum.Sum(nil)))
	r.t.sums[e.Path] = e.Digest()
	r.rec.counts.Files++
	r.rec.bytesFiles += e.Size
	r.add(*e)
}

// finish checks what needs every entry (links that leave the root through
// others), hands the last batch on, and returns the recording of a
// stream of bytesRaw bytes.
func (r *recorder) finish(bytesRaw int64) (*recording, error) {
	if err := r.t.finish(); err != nil {
		return nil, fmt.Errorf("%v; a restore would refuse it, so exclude it", err)
	}
	r.flush()
	r.rec.bytesRaw = bytesRaw
	return &r.rec, nil
}

// record reads a tar stream from src, passes every byte of it unchanged to
// dst and records it, hashing regular files with alg on the way and
// handing the entries to batch (when set) as it goes.
func record(src io.Reader, dst io.Writer, alg string, batch func([]Entry), progress func(int64)) (*recording, error) {
	r, err := newRecorder(alg, batch)
	if err != nil {
		return nil, err
	}
	cnt := &counter{r: io.TeeReader(src, dst), meter: meter{progress: progress}}
	tr := tar.NewReader(cnt)
	bp := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(bp)
	buf := bp[:]
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar output after %d entries: %w", r.recorded(), err)
		}
		if err := r.header(h); err != nil {
			return nil, err
		}
		if r.pending != nil {
			if _, err := io.CopyBuffer(r.sum, tr, buf); err != nil {
				return nil, fmt.Errorf("reading %q from tar output: %w", r.pending.Path, err)
			}
			r.fileDone()
		}
	}
	// The end-of-archive blocks and padding go into the snapshot too.
	if _, err := io.CopyBuffer(io.Discard, cnt, buf); err != nil {
		return nil, fmt.Errorf("reading the end of tar output: %w", err)
	}
	return r.finish(cnt.n)
}
