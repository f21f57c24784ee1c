package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/scnlabs/scn/internal/agent/wire"
	"github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/store/ranges"
	"github.com/scnlabs/scn/internal/throttle"
)

// agent is what a job runs with: the session, how to reach the store, and
// the machine's link (paced when a local sandbox says it is slow).
type agent struct {
	s    *session
	acc  wire.Access
	hc   *http.Client
	pace *throttle.Pacer
	prog *progress
	size int64 // the object's size, from start (receive)
}

func newAgent(s *session, acc wire.Access) (*agent, error) {
	a := &agent{s: s, acc: acc, prog: &progress{s: s}}
	if v := os.Getenv(throttle.EnvLinkRate); v != "" {
		rate, err := strconv.ParseInt(v, 10, 64)
		if err != nil || rate <= 0 {
			return nil, fmt.Errorf("%s=%q is not a positive number of bytes per second", throttle.EnvLinkRate, v)
		}
		a.pace = throttle.NewPacer(rate)
	}
	if a.acc.Concurrency <= 0 {
		a.acc.Concurrency = 4
	}
	if a.acc.Attempts <= 0 {
		a.acc.Attempts = 5
	}
	if acc.Presigned {
		hc, err := a.client()
		if err != nil {
			return nil, err
		}
		a.hc = hc
	}
	return a, nil
}

// client is the HTTP client for presigned requests: the system's roots
// (plus the job's CA, if any), timeouts so a silent store fails instead of
// hanging, and every connection paced by the machine's link.
func (a *agent) client() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	tr.MaxIdleConnsPerHost = 2 * a.acc.Concurrency
	if a.acc.CA != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(a.acc.CA)) {
			return nil, errors.New("the store's CA certificate from scn is not PEM")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if a.pace != nil {
		dial := (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		pace := a.pace
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return throttle.SharedConn(c, pace, pace), nil
		}
	}
	return &http.Client{Transport: tr}, nil
}

// probe shows the store is reachable before any byte moves, so scn can
// still stream the bytes itself if it is not.
func (a *agent) probe(ctx context.Context) error {
	switch {
	case a.acc.Presigned:
		if a.acc.Probe == nil {
			return errors.New("no probe URL from scn")
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		// Any answer shows the way to the store works (what it says about
		// the object, or a passing 503, is the transfer's business): only
		// a failure to connect — no route, a firewall, an untrusted
		// certificate — makes scn stream the bytes itself.
		// A reset or timeout may pass: try a few times, but not a
		// certificate the machine does not trust, which will not.
		var err error
		for attempt := 1; attempt <= 3; attempt++ {
			var resp *http.Response
			if resp, err = a.do(ctx, a.acc.Probe, nil, nil); err == nil {
				resp.Body.Close()
				return nil
			}
			var cert *tls.CertificateVerificationError
			if errors.As(err, &cert) || ctx.Err() != nil {
				break
			}
			select {
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		return err
	case a.acc.ProbeFile != "":
		b, err := os.ReadFile(a.acc.ProbeFile)
		if err != nil {
			return fmt.Errorf("the store's folder is not on this machine: %w", err)
		}
		if string(b) != a.acc.ProbeToken {
			return errors.New("the store's folder on this machine is not scn's (its probe file differs)")
		}
		return nil
	}
	return errors.New("the job says neither how to upload nor where the store's folder is")
}

// creator runs a CreateJob.
type creator struct{ job *wire.CreateJob }

func (c *creator) access() wire.Access { return c.job.Store }

func (c *creator) run(ctx context.Context, a *agent) (json.RawMessage, error) {
	put, err := a.putter("the snapshot")
	if err != nil {
		return nil, err
	}
	entries := sendEntries(a.s)
	m, err := snapshot.Archive(ctx, snapshot.ArchiveOptions{Path: c.job.Path, Exclude: c.job.Exclude, Hash: c.job.Hash,
		Put: put, Progress: a.prog.report, Entries: entries.add})
	if serr := entries.close(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	a.prog.flush(m.BytesRaw) // m lists no entries: the entries messages carried them
	return json.Marshal(m)
}

// entrySender sends a create's entries to scn as the archive records them
// (wire.Entries), from its own goroutine, so encoding them holds up the
// stream only when four batches wait (scn or its link is that slow), and
// scn decodes them while the bytes still move: what is left for the end of
// a snapshot of many files is the counts.
type entrySender struct {
	q    chan []snapshot.Entry
	done chan error
}

func sendEntries(s *session) *entrySender {
	e := &entrySender{q: make(chan []snapshot.Entry, 4), done: make(chan error, 1)}
	go func() {
		var err error
		for batch := range e.q {
			if err != nil {
				continue // scn is gone: the archive fails on its own
			}
			var raw []byte
			if raw, err = json.Marshal(batch); err == nil {
				err = s.send(wire.Msg{Type: wire.Entries, Entries: raw})
			}
		}
		e.done <- err
	}()
	return e
}

func (e *entrySender) add(batch []snapshot.Entry) { e.q <- batch }

// close waits until every batch is sent and says whether one failed.
func (e *entrySender) close() error {
	close(e.q)
	return <-e.done
}

func (c *creator) done(r json.RawMessage) wire.Msg { return wire.Msg{Type: wire.Created, Manifest: r} }

// putter is how an object goes to the store: presigned parts, or the file
// scn reserved in its shared folder.
func (a *agent) putter(what string) (func(context.Context, io.Reader) (int64, error), error) {
	if a.acc.Presigned {
		return a.putParts, nil
	}
	if a.acc.File == "" {
		return nil, fmt.Errorf("scn reserved no file to write %s into", what)
	}
	return a.putFile, nil
}

// putFile writes the object into the file scn reserved in its store's
// folder; a failed or cancelled write removes it (scn may be gone).
func (a *agent) putFile(ctx context.Context, r io.Reader) (int64, error) {
	f, err := os.OpenFile(a.acc.File, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(throttle.Writer(f, a.pace), r)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(a.acc.File)
		return n, fmt.Errorf("writing %s: %w", a.acc.File, err)
	}
	return n, nil
}

// restorer runs a RestoreJob.
type restorer struct{ job *wire.RestoreJob }

func (r *restorer) access() wire.Access { return r.job.Store }

func (r *restorer) run(ctx context.Context, a *agent) (json.RawMessage, error) {
	m, err := snapshot.ParseManifest(r.job.Manifest, "")
	if err != nil {
		return nil, fmt.Errorf("the manifest from scn is unusable: %w", err)
	}
	data, err := a.open(ctx, "the snapshot's data", r.job.Size)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	res, err := snapshot.Unpack(ctx, snapshot.UnpackOptions{Data: data, Manifest: m, Path: r.job.Path, Verify: r.job.Verify,
		Progress: a.prog.report})
	var out json.RawMessage
	if res != nil {
		out, _ = json.Marshal(res)
	}
	if err == nil {
		a.prog.flush(m.BytesRaw)
	}
	return out, err
}

// open reads the object of size bytes: ranges fetched in parallel with
// the GET URL scn presigns, or the store's own file on a shared
// filesystem, paced by the machine's link either way.
func (a *agent) open(ctx context.Context, what string, size int64) (io.ReadCloser, error) {
	if a.acc.Presigned {
		d := &download{a: a, url: &urlHolder{a: a, n: 0}}
		return ranges.NewReader(ctx, what, size, min(a.acc.PartSize, 8<<20), a.acc.Concurrency, d.fetch), nil
	}
	f, err := os.Open(a.acc.File)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		f.Close()
		return nil, fmt.Errorf("%s is not the %d bytes scn saw: it changed meanwhile", a.acc.File, size)
	}
	return struct {
		io.Reader
		io.Closer
	}{throttle.Reader(f, a.pace), f}, nil
}

func (r *restorer) done(res json.RawMessage) wire.Msg {
	return wire.Msg{Type: wire.Restored, Result: res}
}
