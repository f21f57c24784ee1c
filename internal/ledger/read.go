package ledger

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"time"
)

// States of a Record.
const (
	StateIntent    = "intent"    // asked for, no id known: the provider may or may not have made it
	StateCreated   = "created"   // has an id and was not confirmed destroyed
	StateDestroyed = "destroyed" // confirmed gone
	StateFailed    = "failed"    // the create failed without a resource
)

// maxLine bounds one line; longer ones are corrupt and skipped whole.
const maxLine = 1 << 20

// Record is everything the ledger knows about one intent, folded from its lines.
type Record struct {
	Ref      string
	Run      string
	Step     string
	Kind     string
	Provider string
	Target   string
	Label    string
	ID       string            // provider's id; empty while State is intent
	Extra    map[string]string // from Created
	State    string            // StateIntent | StateCreated | StateDestroyed | StateFailed
	Note     string            // from Destroyed / Failed
	// Times are UTC; zero when the line was lost.
	IntentAt  time.Time
	CreatedAt time.Time
	ClosedAt  time.Time
}

// Open reports whether the resource may still exist and cost money.
func (r *Record) Open() bool { return r.State == StateIntent || r.State == StateCreated }

// Since is when the record was first seen: its intent, or its creation when
// the intent line was lost.
func (r *Record) Since() time.Time {
	if !r.IntentAt.IsZero() {
		return r.IntentAt
	}
	return r.CreatedAt
}

// Filter selects open records. Zero fields match everything.
type Filter struct {
	Run       string        // exact run id
	OlderThan time.Duration // first seen at least this long ago (spares runs in progress)
	Pattern   string        // glob (path.Match syntax) on the label, e.g. "scn-2026*"
}

// Read folds ledger lines from r per ref, in order of each ref's first line,
// closed records included. Lines that are not valid ledger lines of this
// Version (torn by a crash, corrupt, over 1 MiB, unknown op) are skipped and
// counted; only an error reading r is returned.
func Read(r io.Reader) (records []Record, skipped int, err error) {
	index := map[string]int{}
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			tooLong, buf = true, buf[:0]
		} else if !tooLong {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return records, skipped, err
		}
		switch {
		case tooLong:
			skipped++
		case !blank(buf):
			var ln line
			if json.Unmarshal(buf, &ln) != nil || !fold(&records, index, &ln) {
				skipped++
			}
		}
		buf, tooLong = buf[:0], false
		if err != nil {
			return records, skipped, nil
		}
	}
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// fold merges one line into its record; false if the line is not valid.
func fold(records *[]Record, index map[string]int, ln *line) bool {
	if ln.V != Version || ln.Ref == "" {
		return false
	}
	switch ln.Op {
	case OpIntent, OpCreated, OpDestroyed, OpFailed:
	default:
		return false
	}
	i, ok := index[ln.Ref]
	if !ok {
		i = len(*records)
		index[ln.Ref] = i
		*records = append(*records, Record{Ref: ln.Ref, State: StateIntent})
	}
	r := &(*records)[i]
	for _, f := range [...]struct {
		dst *string
		src string
	}{
		{&r.Run, ln.Run}, {&r.Step, ln.Step}, {&r.Kind, ln.Kind},
		{&r.Provider, ln.Provider}, {&r.Target, ln.Target}, {&r.Label, ln.Label},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	t := ln.Time.UTC()
	switch ln.Op {
	case OpIntent:
		r.IntentAt = t
	case OpCreated:
		r.ID, r.CreatedAt = ln.ID, t
		if len(ln.Extra) > 0 {
			r.Extra = maps.Clone(ln.Extra)
		}
		if r.State == StateIntent {
			r.State = StateCreated
		}
	case OpDestroyed, OpFailed:
		r.State, r.Note, r.ClosedAt = ln.Op, ln.Note, t
	}
	return true
}

// Records reads the whole ledger (see Read) under a shared lock, so that no
// line being appended by a live process is mistaken for a torn one.
func (l *Ledger) Records() (records []Record, skipped int, err error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: read %s: %w", l.path, err)
	}
	defer f.Close()
	if err := lockFile(f, false); err != nil {
		return nil, 0, fmt.Errorf("ledger: lock %s: %w", l.path, err)
	}
	defer unlockFile(f)
	records, skipped, err = Read(f)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: read %s: %w", l.path, err)
	}
	return records, skipped, nil
}

// Leftovers returns the open records (intent or created: they may still
// cost money) that match f, in ledger order (oldest first).
func (l *Ledger) Leftovers(f Filter) ([]Record, error) {
	if _, err := path.Match(f.Pattern, ""); err != nil {
		return nil, fmt.Errorf("ledger: label pattern %q: %w", f.Pattern, err)
	}
	records, _, err := l.Records()
	if err != nil {
		return nil, err
	}
	now := l.now()
	var out []Record
	for _, r := range records {
		if !r.Open() || (f.Run != "" && r.Run != f.Run) {
			continue
		}
		if f.OlderThan > 0 && now.Sub(r.Since()) < f.OlderThan {
			continue
		}
		if f.Pattern != "" {
			if ok, _ := path.Match(f.Pattern, r.Label); !ok {
				continue
			}
		}
		out = append(out, r)
	}
	return out, nil
}
