package scenarios_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/testbin"
)

// throughS3 snapshots a sandbox's workspace, with 1 MB LZ4 cannot shrink,
// then restores it onto another sandbox and checks every file.
const throughS3 = `name: through-s3
steps:
  - id: gpu_a
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: files
    action: files.create
    with: { on: "${{ steps.gpu_a }}", count: 3 }
  - id: fill
    action: ssh.exec
    with: { on: "${{ steps.gpu_a }}", command: "head -c 1000000 /dev/urandom > fill.bin" }
  - id: snap
    action: snapshot.create
    with: { on: "${{ steps.gpu_a }}" }
  - id: gpu_b
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: restore
    action: snapshot.restore
    with: { snapshot: "${{ steps.snap }}", on: "${{ steps.gpu_b }}" }
    expect: [ "valid == file_count" ]
  - id: verify
    action: files.verify
    with: { on: "${{ steps.gpu_b }}", files: "${{ steps.files.files }}" }
`

// openLocalS3 opens a local target whose store is the S3 server, with the
// agent, the keys in the environment scn reads and faults.
func openLocalS3(t *testing.T, srv *s3test.Server, faults string) *target.Target {
	t.Helper()
	agents, err := testbin.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cfg := "targets:\n  local:\n    kind: local\n    store: { kind: s3, endpoint: " + srv.Endpoint + ", bucket: " + srv.Bucket +
		", region: us-east-1, access_key_env: K, secret_key_env: S }\n"
	if faults != "" {
		cfg += "    faults: { " + faults + " }\n"
	}
	file := filepath.Join(state, "scn.yaml")
	writeFile(t, file, cfg)
	env := map[string]string{"K": s3test.AccessKeyID, "S": s3test.SecretAccessKey}
	tgt, err := assembly.Open(context.Background(), assembly.OpenOptions{Name: "local", StateDir: state, ConfigFile: file,
		Getenv: func(k string) string { return env[k] }, Agents: &agentctl.Binaries{Dir: agents},
		TuneS3: func(c *s3store.Config) {
			c.HTTPClient, c.CAPEM, c.MaxBackoff = srv.Client, srv.CertPEM, 20*time.Millisecond
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tgt.Close)
	return tgt
}

// Local sandboxes run the agent, which uploads to and reads from the S3
// server with presigned URLs: no byte passes through scn, the sandboxes'
// slow link paces the agent's own traffic, and no file of the sandboxes
// holds the store's secret.
func TestSandboxAgentThroughS3(t *testing.T) {
	const rate = 1 << 20
	srv := s3test.StartServer(t, s3test.Options{})
	tgt := openLocalS3(t, srv, fmt.Sprintf("link_bytes_per_sec: %d", rate))
	path := filepath.Join(t.TempDir(), "through-s3.yaml")
	writeFile(t, path, throughS3)
	j := runOn(t, path, runOptions{target: tgt, timeout: 2 * time.Minute})
	if j.Status != journal.StatusPassed {
		for _, s := range j.Steps {
			t.Logf("step %s %s %s", s.ID, s.Status, s.Error)
		}
		t.Fatalf("drill %s: %s", j.Status, j.Error)
	}
	for _, x := range j.Snapshots {
		if x.Via != "agent" || x.SCNBytes != 0 {
			t.Errorf("%s %s went via %q with %d bytes through scn; want the agent, none", x.Kind, x.ID, x.Via, x.SCNBytes)
		}
		if x.Kind == "snapshot" {
			if least := 0.8 * float64(x.BytesStored) / rate; x.Seconds < least {
				t.Errorf("the agent stored %d bytes in %.2fs over a %d B/s link (at least %.2fs)", x.BytesStored, x.Seconds, rate, least)
			}
		}
	}
	if len(j.Snapshots) != 2 {
		t.Fatalf("transfers %+v", j.Snapshots)
	}
	var parts, ranges int
	for _, r := range srv.Requests() {
		if !strings.Contains(r.Query, "X-Amz-Signature=") {
			continue
		}
		switch {
		case r.Method == http.MethodPut && r.Status == http.StatusOK:
			parts++
		case r.Method == http.MethodGet && r.Status == http.StatusPartialContent:
			ranges++
		}
	}
	if parts == 0 || ranges == 0 {
		t.Errorf("presigned part uploads %d, ranged reads %d: the sandboxes did not move the bytes", parts, ranges)
	}
	filepath.WalkDir(filepath.Join(tgt.StateDir, "local"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(s3test.SecretAccessKey)) {
				t.Errorf("%s holds the store's secret", p)
			}
		}
		return nil
	})
}
