package snapshot

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scnlabs/scn/internal/store"
)

// linkMeter adds up what a Moved callback heard.
type linkMeter struct {
	mu             sync.Mutex
	sent, received int64
}

func (l *linkMeter) moved(sent, received int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent, l.received = l.sent+sent, l.received+received
}

func (l *linkMeter) total() (int64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent, l.received
}

// The bytes crossing the machine's link are heard as they cross, so a
// snapshot that fails after its data went up (here, its manifest's put)
// has still paid for them: a provider bills them either way. Via the
// agent they are the object's bytes, through scn the tar stream; a
// restore hears what the machine received the same way.
func TestAFailedSnapshotHasPaidForItsBytes(t *testing.T) {
	mc := newMachine(t)
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 2<<20)
	for _, via := range []string{ViaAgent, ViaSCN} {
		t.Run(via, func(t *testing.T) {
			st, _ := s3StoreAndServer(t)
			opts := CreateOptions{Exec: mc.x, Path: src, Store: st, Source: "gpu-1",
				Notice: func(s string) {
					if via == ViaAgent {
						t.Errorf("the agent was not used: %s", s)
					}
				}}
			if via == ViaAgent {
				opts.Agent = mc.agent
			}
			var whole linkMeter
			opts.Name, opts.Moved = "whole", whole.moved
			m, err := Create(testCtx(t), opts)
			if err != nil || m.Transport.Via != via {
				t.Fatalf("Create = %v, %v", m, err)
			}
			want := m.BytesStored // what the agent uploaded
			if via == ViaSCN {
				want = m.Transport.SCNBytes // the tar stream over SSH
			}
			if sent, received := whole.total(); sent != want || received != 0 || want == 0 {
				t.Errorf("a snapshot via %s: heard %d sent and %d received, want %d sent", via, sent, received, want)
			}

			var cut linkMeter
			opts.Name, opts.Moved = "cut", cut.moved
			// Via the agent: 1 stat, 2 create upload, 3 part 1's URL
			// (retried), 4 part 1, 5 complete, 6 the manifest. Through
			// scn: 1 stat, 2 the data's put, 3 the manifest.
			opts.Store = &store.Faulty{Store: st, FailEvery: 3}
			if _, err := Create(testCtx(t), opts); err == nil || !strings.Contains(err.Error(), "manifest") {
				t.Fatalf("Create with the manifest's put failing = %v", err)
			}
			if sent, _ := cut.total(); sent != want {
				t.Errorf("a snapshot via %s that failed after its data went up: heard %d bytes sent, want its %d", via, sent, want)
			}

			var back linkMeter
			ropts := RestoreOptions{Exec: mc.x, Store: st, Name: "whole", Path: filepath.Join(t.TempDir(), "out"), Instance: "gpu-2",
				Moved: back.moved}
			if via == ViaAgent {
				ropts.Agent = mc.agent
			}
			res, err := Restore(testCtx(t), ropts)
			if err != nil || res.Transport.Via != via {
				t.Fatalf("Restore = %+v, %v", res, err)
			}
			want = m.BytesStored // the object the agent read
			if via == ViaSCN {
				want = res.Transport.SCNBytes // the tar stream over SSH
			}
			if sent, received := back.total(); received != want || sent != 0 || want == 0 {
				t.Errorf("a restore via %s: heard %d sent and %d received, want %d received", via, sent, received, want)
			}
		})
	}
}
