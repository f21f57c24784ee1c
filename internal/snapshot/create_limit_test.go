package snapshot

import (
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/store"
)

// A manifest larger than a restore loads is not written, on either path:
// a name whose manifest no restore reads would be a snapshot that cannot
// be restored. The agent checks the compact JSON it sends; manifest.json
// is indented, larger, and Create checks that. (The data object left
// behind is removed by the caller, as after any failed Create.)
func TestCreateRefusesAManifestNoRestoreLoads(t *testing.T) {
	mc := newMachine(t)
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 0)
	st := s3Store(t)
	probe, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "probe", Store: st, Agent: mc.agent, Source: "m1"})
	if err != nil || probe.Transport.Via != ViaAgent {
		t.Fatalf("%+v, %v; want a snapshot through the agent", probe, err)
	}
	rc, err := st.Get(testCtx(t), manifestKey("probe"))
	if err != nil {
		t.Fatal(err)
	}
	indented, err := io.ReadAll(rc)
	rc.Close()
	compact, _ := json.Marshal(probe)
	if err != nil || len(compact) > len(indented)*9/10 {
		t.Fatalf("manifest.json %d bytes (%v), compact %d: the limit below cannot sit well between them", len(indented), err, len(compact))
	}

	defer func(was int) { maxManifestBytes = was }(maxManifestBytes)
	// Halfway: the agent's compact JSON fits, manifest.json does not
	// (through scn, whose manifest differs by a few bytes, only
	// manifest.json is checked).
	maxManifestBytes = (len(compact) + len(indented)) / 2
	for via, agent := range map[string]*machine{"agent": mc, "scn": nil} {
		opts := CreateOptions{Exec: mc.x, Path: src, Name: "big-" + via, Store: st, Source: "m1"}
		if agent != nil {
			opts.Agent = agent.agent
		}
		_, err := Create(testCtx(t), opts)
		if err == nil || !strings.Contains(err.Error(), "more than a restore loads") {
			t.Errorf("through %s: err = %v; want the manifest refused", via, err)
		}
		if _, err := st.Stat(testCtx(t), manifestKey("big-"+via)); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("through %s: manifest.json stat: %v; want it never written", via, err)
		}
	}
}
