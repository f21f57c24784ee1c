package snapshot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
)

// CreateOptions says what to snapshot and where to put it.
type CreateOptions struct {
	Exec     remote.Execer // the instance
	Path     string        // directory on the instance, e.g. /workspace
	Name     string        // snapshot name (ValidateName)
	Exclude  []string      // GNU tar --exclude patterns, e.g. "./cache", "*.tmp"
	Store    store.Store
	Source   string           // instance id, recorded in the manifest and errors
	Progress func(done int64) // bytes of tar stream read so far (optional)
	// Agent, when set, moves the bytes on the machine itself: they go
	// straight to the store (see agent.go). Nil, or when no agent can run
	// there or reach the store, they stream through scn over SSH.
	Agent *agentctl.Launcher
	// Notice hears the one line saying why an agent was not used
	// (optional).
	Notice func(string)
}

// Create snapshots opts.Path on the instance into opts.Store and returns
// the manifest it wrote. It refuses to replace an existing snapshot.
//
// Seconds in the manifest is the transfer's: with an agent, from when it
// began moving bytes (not counting its installation).
func Create(ctx context.Context, opts CreateOptions) (*Manifest, error) {
	start := time.Now()
	created := start
	where := fmt.Sprintf("snapshot %q of %s on instance %s", opts.Name, opts.Path, cmp.Or(opts.Source, "(unknown)"))
	if err := ValidateName(opts.Name); err != nil {
		return nil, err
	}
	if opts.Exec == nil || opts.Store == nil || opts.Path == "" {
		return nil, fmt.Errorf("%s: Exec, Store and Path are required", where)
	}
	if _, err := opts.Store.Stat(ctx, manifestKey(opts.Name)); err == nil {
		return nil, fmt.Errorf("%s: snapshot %q already exists in %s; delete it or pick another name", where, opts.Name, opts.Store)
	} else if !errors.Is(err, store.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", where, err)
	}

	var m *Manifest
	tr := Transport{Via: ViaAgent}
	if opts.Agent != nil {
		var err error
		m, start, err = createViaAgent(ctx, opts, start)
		if m != nil {
			tr = m.Transport
		}
		if errors.Is(err, agentctl.ErrUnavailable) {
			tr.Notice = notice(opts.Notice, opts.Source, err)
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	if m == nil {
		var scnBytes *int64
		opts.Progress, scnBytes = counted(opts.Progress)
		rec, stored, err := stream(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		m = &Manifest{FormatVersion: FormatVersion, Format: "tar+lz4", HashAlgorithm: rec.hash, Counts: rec.counts,
			BytesRaw: rec.bytesRaw, BytesFiles: rec.bytesFiles, BytesStored: stored, Entries: rec.entries}
		if stored > 0 {
			m.Ratio = float64(rec.bytesRaw) / float64(stored)
		}
		tr.Via, tr.SCNBytes = ViaSCN, *scnBytes
	}
	m.Name, m.CreatedAt = opts.Name, created.UTC().Truncate(time.Second)
	m.Source = Source{Instance: opts.Source, Path: opts.Path}
	m.Transport = tr
	m.Seconds = time.Since(start).Seconds()
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the manifest: %w", where, err)
	}
	// Written last: until it exists, the snapshot does not.
	if _, err := opts.Store.Put(ctx, manifestKey(opts.Name), bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%s: data uploaded but the manifest could not be written, so the snapshot does not exist: %w", where, err)
	}
	return m, nil
}

// stream runs remote tar → record → LZ4 → store.Put (archive) and returns
// what was recorded and the size of the stored object.
func stream(ctx context.Context, opts CreateOptions) (*recording, int64, error) {
	put := func(ctx context.Context, r io.Reader) (int64, error) {
		return opts.Store.Put(ctx, dataKey(opts.Name), r)
	}
	return archive(ctx, execTar(opts.Exec, tarCommand(opts.Path, opts.Exclude, "")), "", put, opts.Progress)
}

// tarSource writes a workspace's tar stream to w: the machine's tar run
// through an Execer (execTar), or the agent's own writer (walkTar). Its
// error explains a failure by itself when it is an *exitError or a
// *walkError.
type tarSource func(ctx context.Context, w io.Writer) error

// execTar runs the tar command cmd through ex with its output to w.
func execTar(ex remote.Execer, cmd string) tarSource {
	return func(ctx context.Context, w io.Writer) error {
		stderr := &tailBuffer{max: 4096}
		code, err := ex.Exec(ctx, cmd, nil, w, stderr)
		if err == nil && code != 0 {
			return &exitError{what: "tar", code: code, stderr: stderr.String()}
		} else if err != nil {
			return fmt.Errorf("running tar: %w", err)
		}
		return nil
	}
}

// tarCommand is the tar that writes the workspace dir to stdout, leaving
// out what matches exclude, with extra options (records, see Archive).
func tarCommand(dir string, exclude []string, extra string) string {
	cmd := "tar -C " + remote.Quote(dir)
	for _, p := range exclude {
		cmd += " --exclude=" + remote.Quote(p)
	}
	if extra != "" {
		cmd += " " + extra
	}
	return cmd + " -cf - ."
}

// archive runs the tar stream of src → record (hashing files with alg) →
// LZ4 → put, each stage in its own goroutine joined by pipes, and returns
// what was recorded and the number of bytes put returned. Any failure
// cancels the other stages, so the tar is killed and put must discard the
// partial object. scn runs it with tar over SSH and the store's Put; scn's
// agent runs it on the machine itself (Archive).
func archive(ctx context.Context, src tarSource, alg string,
	put func(context.Context, io.Reader) (int64, error), progress func(int64)) (*recording, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	tarOut, tarW := newBufPipe()
	execDone := make(chan error, 1)
	go func() {
		err := src(ctx, tarW)
		tarW.CloseWithError(err) // nil: the reader sees EOF
		execDone <- err
	}()

	// A plain io.Pipe, not a bufPipe: the LZ4 writer already queues whole
	// blocks and writes them from its own goroutine, so io.Pipe hands each
	// block straight into the part buffer: one copy instead of two.
	dataR, dataW := io.Pipe()
	type putResult struct {
		n   int64
		err error
	}
	putDone := make(chan putResult, 1)
	go func() {
		n, err := put(ctx, dataR)
		dataR.CloseWithError(cmp.Or(err, errStoreReturned)) // unblock the compressor if the store gave up
		putDone <- putResult{n, err}
	}()

	zw := lz4Writer(dataW)
	rec, err := record(tarOut, zw, alg, progress)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cancel(err)
		tarOut.CloseWithError(err)
		dataW.CloseWithError(err)
		execErr := <-execDone
		stored := <-putDone
		var exit *exitError
		var walk *walkError
		switch {
		case errors.As(execErr, &exit) || errors.As(execErr, &walk):
			return nil, 0, execErr // tar's own complaint explains the rest
		case stored.err != nil && !errors.Is(stored.err, err) && !errors.Is(stored.err, context.Canceled):
			return nil, 0, fmt.Errorf("storing the data: %w", stored.err) // the store failed first
		}
		return nil, 0, err
	}
	dataW.Close()
	<-execDone // tar succeeded: record read its output to EOF
	stored := <-putDone
	if stored.err != nil {
		return nil, 0, fmt.Errorf("storing the data: %w", stored.err)
	}
	return rec, stored.n, nil
}

var errStoreReturned = errors.New("the store stopped reading before the end of the data")
