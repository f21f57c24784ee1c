package snapshot

import (
	"bytes"
	"cmp"
	"context"
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
	// Moved hears the bytes crossing the machine's own network link as
	// they cross (optional): a provider may bill them (VAST's bandwidth),
	// whether the transfer then succeeds or not. Via the agent, the bodies
	// it sent and read over the network (wire.Msg.NetSent); through scn,
	// the tar stream over SSH, to within the last MiB of one cut short.
	Moved func(sent, received int64)
}

// Create snapshots opts.Path on the instance into opts.Store and returns
// the manifest it wrote. It refuses to replace an existing snapshot.
//
// Seconds in the manifest is the transfer's: with an agent, from when it
// began moving bytes (not counting its installation); through scn, from
// when the stream began (not counting a try of the agent that failed).
func Create(ctx context.Context, opts CreateOptions) (*Manifest, error) {
	created := time.Now()
	var began time.Time // when the transfer began
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
		m, began, err = createViaAgent(ctx, opts)
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
		opts.Progress, scnBytes = counted(opts.Progress, sending(opts.Moved))
		began = time.Now()
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
	m.Seconds = time.Since(began).Seconds()
	data, err := encodeManifest(m, m.lines)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the manifest: %w", where, err)
	}
	if len(data) > maxManifestBytes {
		// Checked on the indented bytes a restore reads, not the compact
		// ones the agent sent: no manifest is written that no restore loads.
		// The data object stays, as after any failure here: the caller
		// removes it (snapshot.create's step does, every version).
		return nil, fmt.Errorf("%s: its manifest would be %d bytes, more than a restore loads (%d): the snapshot was not written (%d entries; exclude some, or snapshot fewer files)",
			where, len(data), maxManifestBytes, len(m.Entries))
	}
	// Written last: until it exists, the snapshot does not.
	if _, err := opts.Store.Put(ctx, manifestKey(opts.Name), bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%s: data uploaded but the manifest could not be written, so the snapshot does not exist: %w", where, err)
	}
	return m, nil
}

// sending and receiving adapt moved to counted's one direction (nil
// stays nil).
func sending(moved func(sent, received int64)) func(int64) {
	if moved == nil {
		return nil
	}
	return func(n int64) { moved(n, 0) }
}

func receiving(moved func(sent, received int64)) func(int64) {
	if moved == nil {
		return nil
	}
	return func(n int64) { moved(0, n) }
}

// stream runs remote tar → record → LZ4 → store.Put (archive) and returns
// what was recorded and the size of the stored object.
func stream(ctx context.Context, opts CreateOptions) (*recording, int64, error) {
	put := func(ctx context.Context, r io.Reader) (int64, error) {
		return opts.Store.Put(ctx, dataKey(opts.Name), r)
	}
	return archive(ctx, execTar(opts.Exec, tarCommand(opts.Path, opts.Exclude, "")), "", nil, put, opts.Progress)
}
