// Package ledger is scn's crash-safe record of what it asked providers to
// create, so that nothing rented is ever forgotten. Before any provider call
// that may create something billable, the caller appends an intent line to
// <stateDir>/ledger.jsonl and the file is fsynced; then the created id; then
// the destroyed (or failed) confirmation. `scn cleanup` folds the lines per
// intent and destroys what is still open, even after a crash, a kill -9 or a
// power cut between the provider's answer and scn's next line.
//
// The file is append-only JSON Lines, one object per line, each with a "v"
// format version. Several scn processes may append at once (parallel
// `scn run`, `scn do`): see append for how lines stay whole. A line torn by a
// crash is skipped by readers, and the next append starts on a fresh line.
package ledger

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Version of the line format. Readers skip lines with a different version;
// bump it only on an incompatible change (new optional fields do not need it).
const Version = 1

// FileName is the ledger's name inside the state directory.
const FileName = "ledger.jsonl"

// Kinds of resources.
const (
	KindInstance = "instance"
	KindStandby  = "standby"
	KindSnapshot = "snapshot"
	// KindRelay is the store folder through which a standby's increments
	// pass (standby-sync/<standby id>/): an unfinished upload or an old
	// version there is billed like a snapshot's. Its id is the standby's.
	KindRelay = "relay"
)

// Operations, one per line: the "op" field.
const (
	OpIntent    = "intent"    // about to ask the provider to create something
	OpCreated   = "created"   // the provider gave it an id
	OpDestroyed = "destroyed" // confirmed gone (destroyed, or found already gone)
	OpFailed    = "failed"    // the create failed and left nothing behind
)

// Entry describes what is about to be created.
type Entry struct {
	Run      string // run id
	Step     string // step id in the scenario
	Kind     string // KindInstance | KindStandby | KindSnapshot | KindRelay
	Provider string // provider name: local, vast, gcp, ssh, store
	Target   string // target name from scn.yaml or a built-in (local, vast)
	Label    string // label given to the resource: scn-<run>-<step>
}

// line is one JSON line of the file. Every line repeats the entry's fields
// that the writer knows, so a record survives the loss of its intent line.
type line struct {
	V        int               `json:"v"`
	Time     time.Time         `json:"t"`
	Op       string            `json:"op"`
	Ref      string            `json:"ref"`
	Run      string            `json:"run,omitempty"`
	Step     string            `json:"step,omitempty"`
	Kind     string            `json:"kind,omitempty"`
	Provider string            `json:"provider,omitempty"`
	Target   string            `json:"target,omitempty"`
	Label    string            `json:"label,omitempty"`
	ID       string            `json:"id,omitempty"`
	Extra    map[string]string `json:"extra,omitempty"`
	Note     string            `json:"note,omitempty"` // why it was destroyed / failed
}

// Ledger appends to one ledger file. It is safe for concurrent use by many
// goroutines, and by many processes each with its own Ledger.
type Ledger struct {
	path  string
	now   func() time.Time
	mask  func(string) string
	sync  func(*os.File) error // (*os.File).Sync; tests count the calls
	mu    sync.Mutex           // serialises this process's appends (flock is per open file)
	file  *os.File
	open  map[string]Entry // refs this Ledger opened and has not closed
	dirOK bool             // the directory entry of the file is known durable
}

// Option configures Open.
type Option func(*Ledger)

// WithClock replaces time.Now, for tests of OlderThan.
func WithClock(now func() time.Time) Option { return func(l *Ledger) { l.now = now } }

// WithMask masks free text (notes, extra values) before it is written, e.g.
// a secret.Masker's String: error messages from providers may carry keys.
func WithMask(mask func(string) string) Option { return func(l *Ledger) { l.mask = mask } }

// Open opens (creating if needed) <stateDir>/ledger.jsonl for appending.
func Open(stateDir string, opts ...Option) (*Ledger, error) {
	l := &Ledger{
		path: filepath.Join(stateDir, FileName),
		now:  time.Now,
		mask: func(s string) string { return s },
		sync: (*os.File).Sync,
		open: map[string]Entry{},
	}
	for _, o := range opts {
		o(l)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("ledger: create state directory %s: %w", stateDir, err)
	}
	_, statErr := os.Stat(l.path)
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", l.path, err)
	}
	l.file = f
	// A file that existed before was made durable by whoever created it.
	l.dirOK = statErr == nil
	return l, nil
}

// Path is the ledger file's path, for messages.
func (l *Ledger) Path() string { return l.path }

// Close closes the file. Entries left open stay open in the file: that is
// what cleanup is for.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}

// Intent records that e is about to be created and returns its ref, the
// handle for Created, Destroyed and Failed. It returns only once the line is
// on disk: if it fails, the caller must not create anything.
func (l *Ledger) Intent(e Entry) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("ledger: make a ref: %w", err)
	}
	ref := hex.EncodeToString(b[:])
	if err := l.write(line{Op: OpIntent, Ref: ref}, e); err != nil {
		return "", err
	}
	l.mu.Lock()
	l.open[ref] = e
	l.mu.Unlock()
	return ref, nil
}

// Created records the provider's id for ref; extra holds details cleanup or
// reports need (snapshot key, price per hour).
func (l *Ledger) Created(ref, resourceID string, extra map[string]string) error {
	if resourceID == "" {
		return fmt.Errorf("ledger: created %s: empty resource id", ref)
	}
	var masked map[string]string
	if len(extra) > 0 {
		masked = make(map[string]string, len(extra))
		for k, v := range extra {
			masked[k] = l.mask(v)
		}
	}
	return l.write(line{Op: OpCreated, Ref: ref, ID: resourceID, Extra: masked}, l.entry(ref))
}

// Destroyed records that the resource of ref is gone. note says how when it
// is not a plain destroy, e.g. "already gone" when cleanup found nothing.
func (l *Ledger) Destroyed(ref, note string) error {
	return l.close(line{Op: OpDestroyed, Ref: ref, Note: l.mask(note)})
}

// Failed closes an intent whose create failed without leaving a resource.
// If the provider may have created something anyway (a timeout), do not call
// Failed: leave the intent open so cleanup looks for it by label.
func (l *Ledger) Failed(ref, msg string) error {
	return l.close(line{Op: OpFailed, Ref: ref, Note: l.mask(msg)})
}

func (l *Ledger) close(ln line) error {
	if err := l.write(ln, l.entry(ln.Ref)); err != nil {
		return err
	}
	l.mu.Lock()
	delete(l.open, ln.Ref)
	l.mu.Unlock()
	return nil
}

func (l *Ledger) entry(ref string) Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[ref]
}

func (l *Ledger) write(ln line, e Entry) error {
	if ln.Ref == "" {
		return errors.New("ledger: empty ref")
	}
	ln.V = Version
	ln.Time = l.now().UTC()
	ln.Run, ln.Step, ln.Kind = e.Run, e.Step, e.Kind
	ln.Provider, ln.Target, ln.Label = e.Provider, e.Target, e.Label
	b, err := json.Marshal(ln)
	if err != nil {
		return fmt.Errorf("ledger: encode %s line for %s: %w", ln.Op, ln.Ref, err)
	}
	if err := l.append(append(b, '\n')); err != nil {
		return fmt.Errorf("ledger: append %s for %s to %s: %w", ln.Op, ln.Ref, l.path, err)
	}
	return nil
}
