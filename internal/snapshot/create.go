package snapshot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
}

// Create snapshots opts.Path on the instance into opts.Store and returns
// the manifest it wrote. It refuses to replace an existing snapshot.
func Create(ctx context.Context, opts CreateOptions) (*Manifest, error) {
	start := time.Now()
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

	rec, stored, err := stream(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	m := &Manifest{
		FormatVersion: FormatVersion,
		Name:          opts.Name,
		CreatedAt:     start.UTC().Truncate(time.Second),
		Source:        Source{Instance: opts.Source, Path: opts.Path},
		Format:        "tar+lz4",
		Counts:        rec.counts,
		BytesRaw:      rec.bytesRaw,
		BytesFiles:    rec.bytesFiles,
		BytesStored:   stored,
		Entries:       rec.entries,
	}
	if stored > 0 {
		m.Ratio = float64(rec.bytesRaw) / float64(stored)
	}
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

// stream runs remote tar → record → LZ4 → store.Put, each stage in its own
// goroutine joined by pipes, and returns what was recorded and the size of
// the stored object. Any failure cancels the other stages, so the remote
// tar is killed and the store discards the partial object.
func stream(ctx context.Context, opts CreateOptions) (*recording, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	cmd := "tar -C " + remote.Quote(opts.Path)
	for _, p := range opts.Exclude {
		cmd += " --exclude=" + remote.Quote(p)
	}
	cmd += " -cf - ."
	tarOut, tarW := newBufPipe()
	stderr := &tailBuffer{max: 4096}
	execDone := make(chan error, 1)
	go func() {
		code, err := opts.Exec.Exec(ctx, cmd, nil, tarW, stderr)
		if err == nil && code != 0 {
			err = &exitError{what: "tar", code: code, stderr: stderr.String()}
		} else if err != nil {
			err = fmt.Errorf("running tar: %w", err)
		}
		tarW.CloseWithError(err) // nil: the reader sees EOF
		execDone <- err
	}()

	dataR, dataW := newBufPipe()
	type putResult struct {
		n   int64
		err error
	}
	putDone := make(chan putResult, 1)
	go func() {
		n, err := opts.Store.Put(ctx, dataKey(opts.Name), dataR)
		dataR.CloseWithError(cmp.Or(err, errStoreReturned)) // unblock the compressor if the store gave up
		putDone <- putResult{n, err}
	}()

	zw, err := lz4Writer(dataW)
	var rec *recording
	if err == nil {
		rec, err = record(tarOut, zw, opts.Progress)
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cancel(err)
		tarOut.CloseWithError(err)
		dataW.CloseWithError(err)
		execErr := <-execDone
		put := <-putDone
		var exit *exitError
		switch {
		case errors.As(execErr, &exit):
			return nil, 0, execErr // tar's own complaint explains the rest
		case put.err != nil && !errors.Is(put.err, err) && !errors.Is(put.err, context.Canceled):
			return nil, 0, fmt.Errorf("storing the data: %w", put.err) // the store failed first
		}
		return nil, 0, err
	}
	dataW.Close()
	<-execDone // tar succeeded: record read its output to EOF
	put := <-putDone
	if put.err != nil {
		return nil, 0, fmt.Errorf("storing the data: %w", put.err)
	}
	return rec, put.n, nil
}

var errStoreReturned = errors.New("the store stopped reading before the end of the data")
