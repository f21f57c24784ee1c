package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/scnlabs/scn/internal/remote"
)

// The archive pipeline, shared by scn (tar over SSH) and its agent (the
// workspace on the machine itself): a tar stream, recorded entry by entry,
// compressed into one LZ4 frame, handed to a store's Put. Stages run at
// the same time, joined by pipes; the first failure stops them all and
// is the one reported.

// tarSource writes a workspace's tar stream to w: a tar process run
// through an Execer (execTar). Its error explains a failure by itself
// when it is an *exitError.
type tarSource func(ctx context.Context, w io.Writer) error

// walkSource writes a workspace's tar stream to w and records each entry
// with rec as it writes it (the agent's walker, walkTar), reporting the
// bytes written so far to progress; it returns the stream's size. Its
// error explains a failure by itself when it is a *walkError or a
// *refusal.
type walkSource func(ctx context.Context, w io.Writer, rec *recorder, progress func(int64)) (int64, error)

// execTar runs the tar command cmd through ex with its output to w.
func execTar(ex remote.Execer, cmd string) tarSource {
	return func(ctx context.Context, w io.Writer) error {
		stderr := remote.NewTail(4096)
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

// archive snapshots the tar stream src writes: the stream goes through a
// pipe to record (hashing files with alg, handing the entries to batch
// when set), which parses it on its way to LZ4 and put. It returns what
// was recorded and the number of bytes put returned. scn runs it with tar
// over SSH and the store's Put; the agent with a tar that is not GNU tar
// (Archive).
func archive(ctx context.Context, src tarSource, alg string, batch func([]Entry),
	put func(context.Context, io.Reader) (int64, error), progress func(int64)) (*recording, int64, error) {
	return compressTo(ctx, put, func(ctx context.Context, zw io.Writer) (*recording, error) {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		tarOut, tarW := newBufPipe()
		execDone := make(chan error, 1)
		go func() {
			err := src(ctx, tarW)
			tarW.CloseWithError(err) // nil: the reader sees EOF
			execDone <- err
		}()
		rec, err := record(tarOut, zw, alg, batch, progress)
		if err != nil {
			cancel(err) // kills the tar
			tarOut.CloseWithError(err)
			if execErr := <-execDone; isItsOwnExplanation(execErr) {
				return nil, execErr // tar's own complaint explains the rest
			}
			return nil, err
		}
		<-execDone // tar succeeded: record read its output to EOF
		return rec, nil
	})
}

// archiveWalk snapshots the stream the walker writes: it records each
// entry itself as it writes it, straight into the LZ4 frame, so the
// stream is neither piped nor parsed a second time (the agent with GNU
// tar, Archive).
func archiveWalk(ctx context.Context, walk walkSource, alg string, batch func([]Entry),
	put func(context.Context, io.Reader) (int64, error), progress func(int64)) (*recording, int64, error) {
	rec, err := newRecorder(alg, batch)
	if err != nil {
		return nil, 0, err
	}
	return compressTo(ctx, put, func(ctx context.Context, zw io.Writer) (*recording, error) {
		n, err := walk(ctx, zw, rec, progress)
		if err != nil {
			return nil, err
		}
		return rec.finish(n)
	})
}

// compressTo runs produce, which writes a tar stream to zw and returns
// what it recorded, with zw compressing into one LZ4 frame that put
// stores from its own goroutine. It returns the recording and the bytes
// put returned. Any failure cancels the rest, so put must discard the
// partial object; the error is the one that came first.
func compressTo(ctx context.Context, put func(context.Context, io.Reader) (int64, error),
	produce func(ctx context.Context, zw io.Writer) (*recording, error)) (*recording, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

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
	rec, err := produce(ctx, zw)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cancel(err)
		dataW.CloseWithError(err)
		stored := <-putDone
		switch {
		case isItsOwnExplanation(err):
			return nil, 0, err
		case stored.err != nil && !errors.Is(stored.err, err) && !errors.Is(stored.err, context.Canceled):
			return nil, 0, fmt.Errorf("storing the data: %w", stored.err) // the store failed first
		}
		return nil, 0, err
	}
	dataW.Close()
	stored := <-putDone
	if stored.err != nil {
		return nil, 0, fmt.Errorf("storing the data: %w", stored.err)
	}
	return rec, stored.n, nil
}

// isItsOwnExplanation is an error that says what went wrong in the
// workspace by itself: tar's exit, an entry the walker could not read, an
// entry a restore would refuse.
func isItsOwnExplanation(err error) bool {
	var exit *exitError
	var walk *walkError
	var ref *refusal
	return errors.As(err, &exit) || errors.As(err, &walk) || errors.As(err, &ref)
}

var errStoreReturned = errors.New("the store stopped reading before the end of the data")
