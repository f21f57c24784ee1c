// Package negative holds the kinds of negative control of `scn run
// --negative-control KIND`: each damages, right after a step, what the step
// produced — a restored file, the stored snapshot, the standby's copy —
// on the machine or in the store of whatever target the run uses, so the
// run proves that a later check of the drill sees the damage. The runner
// calls a kind after every passed step (runner.Fault) and inverts the
// verdict; the kinds find what to damage through the optional interfaces
// of the steps' outputs (actions.RestoredData, actions.StoredData,
// actions.StandbyCopy), never by action name.
package negative

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/runner"
)

// Kinds are the negative controls, in the order `all` runs them.
var Kinds = []string{"corrupt-file", "delete-file", "truncate-snapshot", "stale-standby"}

// New returns a fresh fault of kind (one per run: stale-standby
// remembers it struck).
func New(kind string) (runner.Fault, error) {
	switch kind {
	case "corrupt-file":
		return &restoredFile{kind: kind, alter: true}, nil
	case "delete-file":
		return &restoredFile{kind: kind}, nil
	case "truncate-snapshot":
		return truncateSnapshot{}, nil
	case "stale-standby":
		return &staleStandby{}, nil
	}
	return nil, fmt.Errorf("unknown negative control %q: the kinds are %s, or all", kind, strings.Join(Kinds, ", "))
}

// Applicable lists the kinds that apply to sc, in Kinds order.
func Applicable(sc *runner.Scenario) []string {
	var out []string
	for _, k := range Kinds {
		f, _ := New(k)
		if f.Applies(sc) == nil {
			out = append(out, k)
		}
	}
	return out
}

// stepProducing is the first step of steps: whose outputs implement what
// the kind damages (ok reports it), or an error naming what is missing.
func stepProducing(sc *runner.Scenario, kind, what string, ok func(out any) bool) error {
	for _, s := range sc.Steps {
		if s.Spec != nil && ok(s.Spec.NewOutputs()) {
			return nil
		}
	}
	return fmt.Errorf("negative control %s cannot apply to %s: no step %s", kind, sc.File, what)
}

// restoredFile alters one byte of (alter) or deletes one restored file on
// the machine, after every step that restored data (snapshot.restore,
// failover.restore).
type restoredFile struct {
	kind  string
	alter bool
}

func (f *restoredFile) Kind() string { return f.kind }

func (f *restoredFile) Applies(sc *runner.Scenario) error {
	return stepProducing(sc, f.kind, "restores data onto a machine (snapshot.restore, failover.restore)", func(out any) bool {
		_, ok := out.(actions.RestoredData)
		return ok
	})
}

func (f *restoredFile) After(ctx context.Context, env *actions.Env, _ *runner.Step, out any) (string, error) {
	rd, ok := out.(actions.RestoredData)
	if !ok {
		return "", nil
	}
	on, dir, landed := rd.Restored()
	if !landed {
		return "", nil
	}
	return damageFile(ctx, env, on, dir, f.alter, "instance")
}

// staleStandby alters one file of the standby's copy once failover is
// active: the copy that is about to be handed over is not what the GPU had.
type staleStandby struct {
	mu   sync.Mutex
	done bool
}

func (*staleStandby) Kind() string { return "stale-standby" }

func (*staleStandby) Applies(sc *runner.Scenario) error {
	return stepProducing(sc, "stale-standby", "reports a standby's copy (standby.status)", func(out any) bool {
		_, ok := out.(actions.StandbyCopy)
		return ok
	})
}

func (f *staleStandby) After(ctx context.Context, env *actions.Env, _ *runner.Step, out any) (string, error) {
	sc, ok := out.(actions.StandbyCopy)
	if !ok {
		return "", nil
	}
	on, dir, active := sc.StandbyCopy()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !active || f.done || dir == "" {
		return "", nil
	}
	did, err := damageFile(ctx, env, on, dir, true, "standby")
	f.done = err == nil
	return did, err
}

// pickFile sets f to the first non-empty regular file under $dir in byte
// order, leaving out hidden files and directories below $dir (scn's own
// staging and state live there), or exits 3 when there is none.
const pickFile = `f=$(cd "$dir" && find . -type f -size +0c ! -path '*/.*' 2>/dev/null | LC_ALL=C sort | head -n 1)
[ -n "$f" ] || { echo "no non-empty file under $dir" >&2; exit 3; }
f="$dir/${f#./}"
`

// damageFile alters the first byte of one file under dir on the machine
// (it becomes byte+1 mod 256), or deletes the file, in one POSIX shell
// command, and says which file.
func damageFile(ctx context.Context, env *actions.Env, on actions.InstanceRef, dir string, alter bool, what string) (string, error) {
	x, inst, err := env.Exec(ctx, on)
	if err != nil {
		return "", err
	}
	script := "dir=" + remote.Quote(dir) + "\n" + pickFile
	verb := "deleted"
	if alter {
		verb = "altered byte 0 of"
		script += `b=$(od -A n -t u1 -N 1 "$f" | tr -d ' \n')
printf "\\$(printf '%03o' $(( (b + 1) % 256 )))" | dd of="$f" bs=1 count=1 conv=notrunc 2>/dev/null || exit 4
`
	} else {
		script += `rm -f -- "$f" || exit 4
`
	}
	script += `printf '%s' "$f"`
	path, err := remote.Run(ctx, x, script, nil)
	if err != nil {
		return "", fmt.Errorf("damaging a file under %s on %s %s: %w", dir, what, inst.ID, err)
	}
	return fmt.Sprintf("%s %s on %s %s", verb, strings.TrimSpace(path), what, inst.ID), nil
}

// truncateSnapshot cuts the stored data object of every snapshot.create
// to half its size, right after the step: a restore must refuse it.
type truncateSnapshot struct{}

// maxKept bounds what truncation reads back into memory.
const maxKept = 64 << 20

func (truncateSnapshot) Kind() string { return "truncate-snapshot" }

func (truncateSnapshot) Applies(sc *runner.Scenario) error {
	return stepProducing(sc, "truncate-snapshot", "stores a snapshot (snapshot.create)", func(out any) bool {
		_, ok := out.(actions.StoredData)
		return ok
	})
}

func (truncateSnapshot) After(ctx context.Context, env *actions.Env, _ *runner.Step, out any) (string, error) {
	sd, ok := out.(actions.StoredData)
	if !ok {
		return "", nil
	}
	key, stored := sd.StoredObject()
	if !stored {
		return "", nil
	}
	st := env.Target.Store
	if st == nil {
		return "", fmt.Errorf("the target has no store holding %s", key)
	}
	obj, err := st.Stat(ctx, key)
	if err != nil {
		return "", fmt.Errorf("truncating %s: %w", key, err)
	}
	keep := min(obj.Size/2, maxKept)
	rc, err := st.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("truncating %s: %w", key, err)
	}
	head, err := io.ReadAll(io.LimitReader(rc, keep))
	rc.Close()
	if err != nil {
		return "", fmt.Errorf("truncating %s: reading it: %w", key, err)
	}
	if _, err := st.Put(ctx, key, bytes.NewReader(head)); err != nil {
		return "", fmt.Errorf("truncating %s: %w", key, err)
	}
	return fmt.Sprintf("truncated %s in %s from %d to %d bytes", key, st, obj.Size, len(head)), nil
}
