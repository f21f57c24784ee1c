package snapshot

import (
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3test"
)

// uploadsLeft lists the multipart uploads still open in the server's
// bucket: what B2 would bill until they are aborted.
func uploadsLeft(t *testing.T, srv *s3test.Server) []string {
	t.Helper()
	var ups []string
	for _, l := range srv.Leftovers(t, "") {
		if strings.HasPrefix(l, "upload ") {
			ups = append(ups, l)
		}
	}
	return ups
}

// abortedUploads counts the multipart uploads srv saw aborted.
func abortedUploads(srv *s3test.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if q, _ := url.ParseQuery(r.Query); r.Method == http.MethodDelete && q.Has("uploadId") && r.Status == http.StatusNoContent {
			n++
		}
	}
	return n
}

// presignedStatuses counts the answers to the machine's requests.
func presignedStatuses(srv *s3test.Server, method string) map[int]int {
	n := map[int]int{}
	for _, r := range srv.Requests() {
		if r.Method == method && strings.Contains(r.Query, "X-Amz-Signature=") {
			n[r.Status]++
		}
	}
	return n
}

// The machine's part uploads and ranged reads meet 503s, connection resets
// and URLs that expired in flight: each is retried (a new URL minted for
// the expired ones) and the snapshot comes back whole.
func TestAgentRidesOutStoreFaults(t *testing.T) {
	for name, fault := range map[string]func(*s3test.Server){
		"503":         func(s *s3test.Server) { s.FailPresigned(3, http.StatusServiceUnavailable) },
		"reset":       func(s *s3test.Server) { s.ResetPresigned(2) },
		"expired url": func(s *s3test.Server) { s.ExpireNext(2) },
		"everything":  func(s *s3test.Server) { s.ExpireNext(1); s.ResetPresigned(1); s.FailPresigned(1, 500) },
	} {
		t.Run(name, func(t *testing.T) {
			mc := newMachine(t)
			src := filepath.Join(t.TempDir(), "ws")
			makeWorkspace(t, src, 6<<20)
			st, srv := s3StoreAndServer(t)
			before := srv.Presigned()
			fault(srv)
			m, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "faulty", Store: st, Agent: mc.agent})
			if err != nil {
				t.Fatal(err)
			}
			if m.Transport.Via != ViaAgent {
				t.Fatalf("via %s", m.Transport.Via)
			}
			fault(srv)
			dst := filepath.Join(t.TempDir(), "out")
			if _, err := Restore(testCtx(t), RestoreOptions{Exec: mc.x, Store: st, Name: "faulty", Path: dst, Verify: true, Agent: mc.agent}); err != nil {
				t.Fatal(err)
			}
			compareTrees(t, snapshotOf(t, src), snapshotOf(t, dst))
			if srv.Presigned() == before {
				t.Fatal("the machine made no presigned request: the faults were not on its traffic")
			}
			puts, gets := presignedStatuses(srv, http.MethodPut), presignedStatuses(srv, http.MethodGet)
			if puts[http.StatusOK] == len(puts) {
				t.Errorf("no part upload met the fault: %v", puts)
			}
			if gets[http.StatusPartialContent] == len(gets) {
				t.Errorf("no ranged read met the fault: %v", gets)
			}
			if left := uploadsLeft(t, srv); len(left) != 0 {
				t.Errorf("multipart uploads left open: %v", left)
			}
		})
	}
}

// When the store keeps failing, the snapshot fails saying so — never a
// silent partial snapshot: no manifest, no object, the upload aborted.
func TestAgentGivesUpClearly(t *testing.T) {
	mc := newMachine(t)
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 6<<20)
	st, srv := s3StoreAndServer(t)
	srv.FailPresigned(1000, http.StatusServiceUnavailable)
	var link linkMeter
	_, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "doomed", Store: st, Agent: mc.agent, Source: "gpu-1", Moved: link.moved})
	if err == nil {
		t.Fatal("Create succeeded against a store answering 503 to everything")
	}
	// The refused parts left the machine (as much of each as went before
	// the 503): a provider bills them, and the failure reported them.
	if sent, _ := link.total(); sent <= 0 {
		t.Errorf("the agent's five tries of a part were heard as %d bytes sent", sent)
	}
	for _, want := range []string{`snapshot "doomed"`, "gpu-1", "uploading", "503", "after 5 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "X-Amz-Signature") {
		t.Errorf("error shows a presigned URL's signature: %v", err)
	}
	srv.FailPresigned(0, 0)
	if objs, _ := st.List(testCtx(t), ""); len(objs) != 0 {
		t.Errorf("a failed snapshot left %v", objs)
	}
	if left := uploadsLeft(t, srv); len(left) != 0 {
		t.Errorf("multipart uploads left open: %v", left)
	}
}

// A faulty store (the local target's store_fail_every) fails the agent's
// requests as it fails scn's: the directory store's put, and each part
// URL of an S3 upload, which the agent then retries.
func TestAgentMeetsFaultyStore(t *testing.T) {
	mc := newMachine(t)
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 0)

	dir := &store.Faulty{Store: dirStore(t), FailEvery: 2} // 1 stat, 2 the put
	_, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "d", Store: dir, Agent: mc.agent})
	if !errors.Is(err, store.ErrInjected) || !strings.Contains(err.Error(), `put "snapshots/d/data.tar.lz4"`) {
		t.Fatalf("Create into a directory store failing its put = %v", err)
	}

	// 1 stat, 2 create upload, 3 part 1 (fails, retried), 4 part 1,
	// 5 complete, 6 the manifest (fails): the part's failure was ridden
	// out, the manifest's fails the snapshot, which leaves nothing.
	s3, srv := s3StoreAndServer(t)
	faulty := &store.Faulty{Store: s3, FailEvery: 3}
	_, err = Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "s", Store: faulty, Agent: mc.agent,
		Notice: func(s string) { t.Errorf("the agent was not used: %s", s) }})
	if err == nil || !strings.Contains(err.Error(), "(request 6; failing every 3)") || !strings.Contains(err.Error(), "manifest.json") {
		t.Fatalf("Create through a store failing every 3rd request = %v; want its part URL retried and the manifest (request 6) failing", err)
	}
	if left := uploadsLeft(t, srv); len(left) != 0 {
		t.Errorf("uploads left open: %v", left) // completed (the action then deletes the data)
	}
}
