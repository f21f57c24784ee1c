package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/units"
)

// RestoreOptions says which snapshot to restore where.
type RestoreOptions struct {
	Exec     remote.Execer // the instance
	Store    store.Store
	Name     string
	Path     string           // target directory on the instance (created if missing)
	Instance string           // the instance's id, for messages and the agent's per-machine memory
	Verify   bool             // afterwards, check every restored file's hash on the instance
	Progress func(done int64) // bytes of the tar stream extracted so far (optional)
	// Agent and Notice: as in CreateOptions. With an agent, Verify reads
	// the files back in the staging directory, before they are moved
	// into place: a mismatch leaves the target as it was.
	Agent  *agentctl.Launcher
	Notice func(string)
	// Moved: as in CreateOptions. Through scn, the machine receives the
	// tar stream and, when Verify reads an agent-made snapshot's files
	// back (verifyStreamed), sends them.
	Moved func(sent, received int64)
}

// RestoreResult says what was restored. Seconds and MBPerSec cover the
// transfer and extraction (not Verify); BytesFiles counts file contents,
// BytesStream the tar stream, which MBPerSec is measured on (as for
// Create: internal/units).
//
// Files and Verified count regular files, Hardlinks and LinksVerified the
// hard links (restored as links to their file), so that Verified never
// exceeds Files: a workspace of one file and a link to it is 1 file and
// 1 link, verified 1/1 and 1/1. Mismatched and Missing name both.
type RestoreResult struct {
	Files         int      `json:"files"`
	Hardlinks     int      `json:"hardlinks"`
	BytesFiles    int64    `json:"bytes_files"`
	BytesStream   int64    `json:"bytes_stream"`
	Seconds       float64  `json:"seconds"`
	MBPerSec      float64  `json:"mb_per_sec"`
	Verified      int      `json:"verified"`
	LinksVerified int      `json:"links_verified"`
	Mismatched    []string `json:"mismatched"`
	Missing       []string `json:"missing"`

	// Transport says how the bytes moved; not part of the agent's report.
	Transport Transport `json:"-"`
}

// verified counts one entry of the manifest whose content checked out.
func (r *RestoreResult) verified(e Entry) {
	if e.Type == TypeHardlink {
		r.LinksVerified++
	} else {
		r.Verified++
	}
}

// errRemoteEnded is what the filter sees when the remote tar stops reading.
var errRemoteEnded = errors.New("the remote tar stopped reading")

// Restore restores snapshot opts.Name into opts.Path on the instance.
//
// The archive is extracted into a staging directory inside Path
// (.scn-restore-<random>) and moved into place only after the whole stream
// matched the manifest and tar succeeded, because an MD5 mismatch or a
// truncated object can only be detected after some bytes were extracted:
// staging inside Path keeps the move a rename on the same filesystem, and
// a failed restore leaves Path as it was (the staging directory is
// removed). Moving merges into existing directories, like tar, and
// replaces existing entries of the same name.
func Restore(ctx context.Context, opts RestoreOptions) (*RestoreResult, error) {
	where := fmt.Sprintf("restore of snapshot %q into %s", opts.Name, opts.Path)
	if opts.Exec == nil || opts.Store == nil || opts.Path == "" {
		return nil, fmt.Errorf("%s: Exec, Store and Path are required", where)
	}
	m, err := ReadManifest(ctx, opts.Store, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	obj, err := opts.Store.Stat(ctx, dataKey(opts.Name))
	if errors.Is(err, store.ErrNotExist) {
		return nil, fmt.Errorf("%s: its data %s is missing from %s", where, dataKey(opts.Name), opts.Store)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if obj.Size != m.BytesStored {
		return nil, damaged("%s: data object is %d bytes but the manifest says %d: it was truncated or replaced", where, obj.Size, m.BytesStored)
	}
	tr := Transport{Via: ViaSCN}
	if opts.Agent != nil {
		res, err := restoreViaAgent(ctx, opts, m, obj.Size)
		switch {
		case errors.Is(err, agentctl.ErrUnavailable):
			tr.Notice = notice(opts.Notice, opts.Instance, err)
		case err != nil:
			return res, fmt.Errorf("%s: %w", where, err)
		default:
			res.Transport.Via = ViaAgent // AgentRSS is the agent's report
			return res, nil
		}
	}
	var scnBytes *int64
	opts.Progress, scnBytes = counted(opts.Progress, receiving(opts.Moved))
	start := time.Now() // not the manifest's read, nor a try of the agent that failed

	stage := path.Join(opts.Path, ".scn-restore-"+randomHex())
	if err := extract(ctx, opts, m, stage); err != nil {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		if cerr := run(cctx, opts.Exec, "cleanup", "rm -rf -- "+remote.Quote(stage)); cerr != nil {
			return nil, fmt.Errorf("%s: %w (and removing the staging directory %s failed: %v)", where, err, stage, cerr)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	tr.SCNBytes = *scnBytes
	res := &RestoreResult{Files: m.Counts.Files, Hardlinks: m.Counts.Hardlinks, BytesFiles: m.BytesFiles, BytesStream: m.BytesRaw,
		Seconds: time.Since(start).Seconds(), Transport: tr}
	res.MBPerSec = units.MBPerSec(res.BytesStream, res.Seconds)
	if opts.Verify {
		var err error
		if algorithm(m.HashAlgorithm) == HashMD5 {
			err = verify(ctx, opts.Exec, opts.Path, m, res) // md5sum on the instance
		} else {
			// No such tool there: read the files back, which the machine
			// sends as they cross.
			err = verifyStreamed(ctx, opts.Exec, opts.Path, m, res, sending(opts.Moved))
		}
		if err != nil {
			return res, fmt.Errorf("%s: verifying: %w", where, err)
		}
	}
	return res, nil
}

// extract streams the data through the filter into the remote tar in
// stage, then moves the result into place.
func extract(ctx context.Context, opts RestoreOptions, m *Manifest, stage string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	rc, err := opts.Store.Get(ctx, dataKey(opts.Name))
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := lz4Reader(rc)
	if err != nil {
		return err
	}
	defer zr.Reset(nil) // stops the decompression goroutines on early exit

	in, inW := newBufPipe()
	stderr := remote.NewTail(4096)
	execDone := make(chan error, 1)
	go func() {
		cmd := fmt.Sprintf("mkdir -p -- %s && mkdir -- %s && tar -C %s -xpf -",
			remote.Quote(opts.Path), remote.Quote(stage), remote.Quote(stage))
		code, err := opts.Exec.Exec(ctx, cmd, in, nil, stderr)
		if err == nil && code != 0 {
			err = &exitError{what: "remote mkdir/tar", code: code, stderr: stderr.String()}
		} else if err != nil {
			err = fmt.Errorf("running the remote tar: %w", err)
		}
		in.CloseWithError(errRemoteEnded) // a tar that quit early must not block the filter
		execDone <- err
	}()

	err = filter(zr, inW, m, opts.Progress)
	if err != nil {
		// Kill the remote tar before it sees a clean end of input: it
		// must not mistake a cut stream for a complete one.
		cancel(err)
		inW.CloseWithError(err)
		execErr := <-execDone
		var exit *exitError
		if errors.Is(err, errRemoteEnded) && errors.As(execErr, &exit) {
			return execErr
		}
		return err
	}
	inW.Close()
	if err := <-execDone; err != nil {
		return err
	}
	return run(ctx, opts.Exec, "moving the restored files into place", moveScript(opts.Path, path.Base(stage), m))
}

// moveScript moves the staged entries into dir: into an existing directory
// by hard-linking its contents across (cp -al, no data copied), otherwise
// by rename, replacing what was there. Then the root gets the snapshot's
// mode and the staging directory goes.
func moveScript(dir, stage string, m *Manifest) string {
	chmod := ""
	if len(m.Entries) > 0 && m.Entries[0].Path == "." {
		chmod = " && chmod " + m.Entries[0].Mode + " ."
	}
	return "cd -- " + remote.Quote(dir) + " && s=" + remote.Quote(stage) + ` && for e in "$s"/* "$s"/.[!.]* "$s"/..?*; do
  if [ ! -e "$e" ] && [ ! -L "$e" ]; then continue; fi
  b=${e#"$s"/}
  if [ -d "$b" ] && [ ! -L "$b" ] && [ -d "$e" ] && [ ! -L "$e" ]; then
    cp -a -l --remove-destination -- "$e" . || exit 1
  else
    rm -rf -- "$b" && mv -- "$e" "$b" || exit 1
  fi
done && rm -rf -- "$s"` + chmod
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrDamaged is what errors.Is finds in a restore that failed because the
// snapshot's data did not match its manifest (truncated, corrupt): the
// restore's own check held, nothing broke.
var ErrDamaged = errors.New("snapshot data does not match its manifest")

type damagedError struct{ err error }

func (d *damagedError) Error() string        { return d.err.Error() }
func (d *damagedError) Unwrap() error        { return d.err }
func (d *damagedError) Is(target error) bool { return target == ErrDamaged }

// damaged is fmt.Errorf for a snapshot that failed its integrity check.
func damaged(format string, args ...any) error {
	return &damagedError{fmt.Errorf(format, args...)}
}
