package snapshot

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/remote/sshtest"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/testbin"
)

// machine is a real SSH server on loopback with its own HOME, and a
// launcher that puts the real agent (cmd/scn-agent, built once) on it.
type machine struct {
	x     remote.Execer
	agent *agentctl.Launcher
	srv   *sshtest.Server
	home  string
}

func newMachine(t testing.TB) *machine {
	t.Helper()
	return newMachineWith(t, nil)
}

// newMachineWith is newMachine with env added to the machine's commands.
func newMachineWith(t testing.TB, env []string) *machine {
	t.Helper()
	dir, err := testbin.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	key := sshtest.NewKey(t)
	home := t.TempDir()
	srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []string{sshtest.AuthorizedKey(key)}, Home: home, Env: env})
	c, err := remote.Dial(context.Background(), remote.Endpoint{Host: srv.Host, Port: srv.Port, User: "scn"}, remote.Options{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &machine{x: c, agent: agentctl.New(agentctl.Binaries{Dir: dir}), srv: srv, home: home}
}

// Through the agent, over SSH, into a directory store and an S3 server
// with presigned URLs: the tree comes back exactly, the manifest names
// xxh3-128, and no byte went through scn.
func TestAgentRoundTrip(t *testing.T) {
	for name, newStore := range map[string]func(testing.TB) store.Store{"dir": dirStore, "s3": s3Store} {
		t.Run(name, func(t *testing.T) {
			mc := newMachine(t)
			src := filepath.Join(t.TempDir(), "workspace")
			makeWorkspace(t, src, 11<<20)
			want := snapshotOf(t, src)
			st := newStore(t)
			var progress int64
			var notices []string
			m, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "via-agent", Store: st, Source: "m1",
				Agent: mc.agent, Notice: func(s string) { notices = append(notices, s) }, Progress: func(d int64) { progress = d }})
			if err != nil {
				t.Fatal(err)
			}
			if m.Transport.Via != ViaAgent || m.Transport.SCNBytes != 0 || len(notices) != 0 {
				t.Fatalf("transport %+v, notices %v; want the agent", m.Transport, notices)
			}
			// The agent reports its peak memory (the bench prints it).
			if m.Transport.AgentRSS <= 0 {
				t.Errorf("snapshot: the agent reported no peak RSS: %+v", m.Transport)
			}
			if m.HashAlgorithm != HashXXH3 || m.Entries[1].Hash == "" && m.Entries[1].Type == TypeFile {
				t.Fatalf("manifest hash %q", m.HashAlgorithm)
			}
			if progress != m.BytesRaw {
				t.Errorf("progress ended at %d of %d", progress, m.BytesRaw)
			}
			read, err := ReadManifest(testCtx(t), st, "via-agent")
			if err != nil || read.HashAlgorithm != HashXXH3 || read.Counts != m.Counts {
				t.Fatalf("manifest read back: %+v, %v", read, err)
			}
			dst := filepath.Join(t.TempDir(), "restored")
			res, err := Restore(testCtx(t), RestoreOptions{Exec: mc.x, Store: st, Name: "via-agent", Path: dst, Verify: true, Agent: mc.agent, Instance: "m1"})
			if err != nil {
				t.Fatal(err)
			}
			compareTrees(t, want, snapshotOf(t, dst))
			if res.Transport.Via != ViaAgent || res.Transport.AgentRSS <= 0 || res.Files != m.Counts.Files || res.Verified != m.Counts.Files || res.LinksVerified != m.Counts.Hardlinks || m.Counts.Hardlinks == 0 || len(res.Mismatched)+len(res.Missing) != 0 {
				t.Errorf("result %+v", res)
			}

			// And the other ways round: the agent's snapshot restored
			// through scn (its files checked by reading them back), and one
			// made through scn (MD5) restored by the agent.
			dst2 := filepath.Join(t.TempDir(), "through-scn")
			var sends []int64 // what Moved heard sent, call by call
			res, err = Restore(testCtx(t), RestoreOptions{Exec: mc.x, Store: st, Name: "via-agent", Path: dst2, Verify: true,
				Moved: func(sent, _ int64) {
					if sent > 0 {
						sends = append(sends, sent)
					}
				}})
			if err != nil || res.Transport.Via != ViaSCN || res.Verified != m.Counts.Files || res.LinksVerified != m.Counts.Hardlinks {
				t.Fatalf("restore through scn: %+v, %v", res, err)
			}
			// Reading the files back sent them over the machine's link
			// again: a provider bills those bytes too, heard as they cross
			// (many calls), not in one sum at the end.
			total := int64(0)
			for _, n := range sends {
				total += n
			}
			if total < m.BytesFiles || len(sends) < 2 {
				t.Errorf("restore through scn: heard %d bytes sent back in %d calls, want the files' %d at least, heard as they crossed",
					total, len(sends), m.BytesFiles)
			}
			compareTrees(t, want, snapshotOf(t, dst2))
			if _, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "via-scn", Store: st}); err != nil {
				t.Fatal(err)
			}
			dst3 := filepath.Join(t.TempDir(), "md5-by-agent")
			res, err = Restore(testCtx(t), RestoreOptions{Exec: mc.x, Store: st, Name: "via-scn", Path: dst3, Verify: true, Agent: mc.agent})
			if err != nil || res.Transport.Via != ViaAgent || res.Verified != m.Counts.Files || res.LinksVerified != m.Counts.Hardlinks {
				t.Fatalf("agent restoring an MD5 snapshot: %+v, %v", res, err)
			}
			compareTrees(t, want, snapshotOf(t, dst3))
		})
	}
}

// elsewhere is a directory store as a machine that does not share scn's
// filesystem sees it: its probe file is not there.
type elsewhere struct{ store.Store }

func (e elsewhere) Shared() (store.Shared, bool) {
	sh, _ := store.SharedOf(e.Store)
	return probeElsewhere{sh}, true
}

type probeElsewhere struct{ store.Shared }

func (p probeElsewhere) Probe() (string, string, func(), error) {
	return "/nonexistent/scn-probe", "token", func() {}, nil
}

// When no agent can move the bytes — none for the machine, or the machine
// cannot reach the store — they stream through scn as before, and one line
// says why.
func TestFallsBackThroughSCN(t *testing.T) {
	// An S3 store the machine cannot reach: scn started the upload while
	// the agent started, and must abort it (B2 bills open ones).
	var s3srv *s3test.Server
	untrusted := func(t testing.TB) store.Store {
		var s store.Store
		s, s3srv = untrustedStore(t)
		return s
	}
	for name, tc := range map[string]struct {
		store func(testing.TB) store.Store
		bins  bool // a launcher with the agent
		want  string
	}{
		"no agent for the machine":              {dirStore, false, "there is no agent for it"},
		"store folder not on the machine":       {func(t testing.TB) store.Store { return elsewhere{dirStore(t)} }, true, "the machine cannot reach the store: the store's folder is not on this machine"},
		"store certificate not trusted there":   {untrusted, true, "the machine cannot reach the store"},
		"a store that gives machines no access": {func(t testing.TB) store.Store { return &store.Faulty{Store: nopStore{dirStore(t)}} }, true, "gives machines no direct access"},
	} {
		s3srv = nil
		t.Run(name, func(t *testing.T) {
			mc := newMachine(t)
			l := mc.agent
			if !tc.bins {
				l = agentctl.New(agentctl.Binaries{})
			}
			src := filepath.Join(t.TempDir(), "ws")
			makeWorkspace(t, src, 0)
			st := tc.store(t)
			var notices []string
			m, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "fb", Store: st, Agent: l, Source: "m7",
				Notice: func(s string) { notices = append(notices, s) }})
			if err != nil {
				t.Fatal(err)
			}
			if m.Transport.Via != ViaSCN || m.Transport.SCNBytes != m.BytesRaw || m.HashAlgorithm != "" {
				t.Errorf("transport %+v, hash %q; want via scn, the whole stream, MD5", m.Transport, m.HashAlgorithm)
			}
			if len(notices) != 1 || !strings.Contains(notices[0], tc.want) || !strings.Contains(notices[0], "instance m7") ||
				!strings.HasPrefix(notices[0], "streaming through scn over SSH") || m.Transport.Notice != notices[0] {
				t.Errorf("notices %q; want one line saying %q", notices, tc.want)
			}
			if s3srv != nil {
				if ups := uploadsLeft(t, s3srv); len(ups) != 0 {
					t.Errorf("uploads left open after falling back: %q", ups)
				}
				if aborted := abortedUploads(s3srv); aborted != 1 {
					t.Errorf("%d uploads aborted; want the one started for the agent", aborted)
				}
			}
			res, err := Restore(testCtx(t), RestoreOptions{Exec: mc.x, Store: st, Name: "fb", Path: t.TempDir(), Verify: true, Agent: l, Instance: "m7"})
			if err != nil || res.Transport.Via != ViaSCN || res.Verified != 10 || res.LinksVerified != 1 || !strings.Contains(res.Transport.Notice, "instance m7") {
				t.Errorf("restore: %+v, %v", res, err)
			}
		})
	}
}

// A machine the Launcher already found no agent runs on gets no upload
// started for it: its later snapshots fall back without a round trip to
// the store for nothing (two B2 transactions each).
func TestRefusedMachineStartsNoUpload(t *testing.T) {
	st, srv := s3StoreAndServer(t)
	mc := newMachine(t)
	l := agentctl.New(agentctl.Binaries{}) // no agent for any machine
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 0)
	for _, name := range []string{"first", "second", "third"} {
		m, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: name, Store: st, Agent: l, Source: "m7"})
		if err != nil || m.Transport.Via != ViaSCN {
			t.Fatalf("%s: %+v, %v; want it streamed through scn", name, m, err)
		}
	}
	if aborted := abortedUploads(srv); aborted != 1 {
		t.Errorf("%d uploads started for the agent and aborted; want 1, before the machine was known", aborted)
	}
}

// untrustedStore is an S3 store the machine cannot reach: scn trusts the
// server's certificate, the machine is not told to.
func untrustedStore(t testing.TB) (store.Store, *s3test.Server) {
	srv := s3test.StartServer(t, s3test.Options{})
	s, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey, HTTPClient: srv.Client}) // no CAPEM
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

// A machine that could not reach the store is not asked again at once:
// its next transfers with that store stream through scn without starting
// its agent or an upload, and say when the agent is tried again
// (agentctl's tests cover the back-off); another machine, or another
// store, is still tried.
func TestUnreachableStoreIsRemembered(t *testing.T) {
	st, srv := untrustedStore(t)
	mc := newMachine(t)
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 0)
	var notices []string
	create := func(name, machine string, st store.Store) *Manifest {
		t.Helper()
		notices = nil
		m, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: name, Store: st, Agent: mc.agent, Source: machine,
			Notice: func(s string) { notices = append(notices, s) }})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	const later = "scn tries its agent there again from"
	for i, name := range []string{"first", "second", "third"} {
		m := create(name, "m7", st)
		if m.Transport.Via != ViaSCN || len(notices) != 1 || strings.Contains(notices[0], later) != (i > 0) {
			t.Errorf("%s: via %s, notices %q; want through scn, saying when the agent is tried again after the first", name, m.Transport.Via, notices)
		}
	}
	if aborted := abortedUploads(srv); aborted != 1 {
		t.Errorf("%d uploads started for the agent and aborted; want 1, before the machine was known not to reach the store", aborted)
	}
	res, err := Restore(testCtx(t), RestoreOptions{Exec: mc.x, Store: st, Name: "third", Path: t.TempDir(), Verify: true, Agent: mc.agent, Instance: "m7"})
	if err != nil || res.Transport.Via != ViaSCN || !strings.Contains(res.Transport.Notice, later) {
		t.Errorf("restore: %+v, %v; want it through scn, remembered", res, err)
	}
	if m := create("other-machine", "m8", st); m.Transport.Via != ViaSCN || abortedUploads(srv) != 2 || strings.Contains(notices[0], later) {
		t.Errorf("another machine: via %s, %d aborted, notices %q; want its agent tried", m.Transport.Via, abortedUploads(srv), notices)
	}
	good, _ := s3StoreAndServer(t)
	if m := create("other-store", "m7", good); m.Transport.Via != ViaAgent {
		t.Errorf("another store from the same machine: via %s, notices %q; want the agent", m.Transport.Via, notices)
	}
}

// nopStore hides its store's capabilities.
type nopStore struct{ store.Store }
