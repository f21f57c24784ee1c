// Package evidence keeps what an auditor asks of a drill and packs it.
// While a run goes, a Recorder copies into the run directory what would
// otherwise be gone by the end — the scenario file as run, the manifests
// of the snapshots the run used (snapshots are deleted at the end of a
// run), the file lists with their MD5s — and at any time later Pack makes
// an evidence bundle of the run directory: those copies, the journal,
// metrics, HTML and JUnit reports, and SHA256SUMS over all of them,
// optionally signed with an SSH key (SSHSIG, namespace scn-evidence) that
// `ssh-keygen -Y verify` accepts; Verify checks a bundle.
package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/atomicfile"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/store"
)

// Dir is the evidence folder inside a run directory.
const Dir = "evidence"

// Recorder is an event.Sink that copies the evidence into RunDir/evidence
// as the run goes. What it cannot copy it notes in Err; the run itself is
// never stopped by it.
type Recorder struct {
	event.Discard
	RunDir string
	Store  store.Store         // where the snapshots' manifests are; nil: none kept
	Mask   func(string) string // hides secrets in what is copied

	mu   sync.Mutex
	errs []error
	kept map[string]bool // manifests already copied
}

// Err is what could not be kept, nil when everything was.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// write saves data (masked) as RunDir/evidence/rel.
func (r *Recorder) write(rel string, data []byte) {
	if r.Mask != nil {
		data = []byte(r.Mask(string(data)))
	}
	p := filepath.Join(r.RunDir, Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.fail(err)
		return
	}
	if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
		r.fail(fmt.Errorf("keeping %s: %w", rel, err))
	}
}

// RunStarted keeps the scenario file as it is on disk when the run starts,
// just after scn loaded and checked it.
func (r *Recorder) RunStarted(j *journal.Journal, _ int) {
	data, err := os.ReadFile(j.File)
	if os.IsNotExist(err) {
		return // loaded from memory (tests, scn do): there is no file to keep
	}
	if err != nil {
		r.fail(fmt.Errorf("keeping the scenario: %w", err))
		return
	}
	r.write("scenario/"+filepath.Base(j.File), data)
}

// StepFinished keeps what a step produced that the bundle needs: the file
// list of files.create (paths, sizes, MD5s), the verdicts of files.verify
// (a failed one's above all), and the manifest of every snapshot a passed
// step created or restored.
func (r *Recorder) StepFinished(s *journal.Step) {
	if s.Status != journal.StepPassed && s.Status != journal.StepFailed {
		return
	}
	out, _ := s.Outputs.(map[string]any)
	if out == nil {
		return
	}
	switch s.Action {
	case "files.create":
		r.writeJSON("files/"+s.ID+".json", out["files"])
	case "files.verify":
		r.writeJSON("files/"+s.ID+".verify.json", out["results"])
	case "snapshot.create", "snapshot.restore":
		// A failed one may name a snapshot that is not there: nothing to keep.
		if s.Status == journal.StepPassed {
			r.keepManifest(out[map[string]string{"snapshot.create": "id", "snapshot.restore": "snapshot"}[s.Action]])
		}
	}
}

func (r *Recorder) writeJSON(rel string, v any) {
	if v == nil {
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		r.fail(err)
		return
	}
	r.write(rel, append(b, '\n'))
}

// keepManifest copies the manifest of snapshot name from the store, as it
// is stored, once.
func (r *Recorder) keepManifest(v any) {
	name, _ := v.(string)
	if name == "" || r.Store == nil {
		return
	}
	r.mu.Lock()
	done := r.kept[name]
	if r.kept == nil {
		r.kept = map[string]bool{}
	}
	r.kept[name] = true
	r.mu.Unlock()
	if done {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := r.Store.Get(ctx, snapshot.ManifestKey(name))
	if err != nil {
		r.fail(fmt.Errorf("keeping the manifest of snapshot %s: %w", name, err))
		return
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 256<<20))
	if err != nil {
		r.fail(fmt.Errorf("keeping the manifest of snapshot %s: %w", name, err))
		return
	}
	r.write("manifests/"+name+".json", data)
}
