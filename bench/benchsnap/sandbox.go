package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
	"github.com/scnlabs/scn/internal/target"
)

// The bench's scn.yaml defines two local targets that differ only in the
// store, assembled by assembly.Open exactly as scn assembles them.
const (
	targetS3  = "bench-s3"
	targetDir = "bench-dir"
	// Environment variables scn.yaml names for the S3 credentials.
	envKeyID  = "BENCH_S3_KEY_ID"
	envSecret = "BENCH_S3_SECRET"
)

// scnSetup is what the scn side of the bench needs: a project state dir
// with its SSH key, the scn.yaml, and one running local sandbox.
type scnSetup struct {
	StateDir   string
	ConfigFile string
	Instance   string
	tgt        *target.Target
}

func writeConfig(path, endpoint, dirStore string) error {
	yaml := fmt.Sprintf(`targets:
  %s:
    kind: local
    store:
      kind: s3
      endpoint: %s
      region: %s
      bucket: %s
      prefix: scn
      access_key_env: %s
      secret_key_env: %s
  %s:
    kind: local
    store:
      kind: dir
      path: %s
`, targetS3, endpoint, s3Region, s3Bucket, envKeyID, envSecret, targetDir, dirStore)
	return os.WriteFile(path, []byte(yaml), 0o644)
}

// scnEnv is the environment of the scn processes: credentials for the
// store, nothing else of the user's S3 settings.
func scnEnv() []string {
	return append(cleanEnv(), envKeyID+"="+s3KeyID, envSecret+"="+s3Secret)
}

// startSandbox writes scn.yaml and starts a local sandbox (the bench binary
// itself, detached, serving SSH on 127.0.0.1), waiting until it answers.
func startSandbox(ctx context.Context, root, endpoint, self string) (*scnSetup, error) {
	s := &scnSetup{StateDir: filepath.Join(root, "state"), ConfigFile: filepath.Join(root, "scn.yaml")}
	if endpoint == "" {
		endpoint = "http://127.0.0.1:1" // no S3 tool selected: the target is never used
	}
	if err := writeConfig(s.ConfigFile, endpoint, filepath.Join(root, "dirstore")); err != nil {
		return nil, err
	}
	getenv := func(k string) string {
		switch k {
		case envKeyID:
			return s3KeyID
		case envSecret:
			return s3Secret
		}
		return ""
	}
	tgt, err := assembly.Open(ctx, assembly.OpenOptions{Name: targetS3, StateDir: s.StateDir, ConfigFile: s.ConfigFile,
		Getenv: getenv, SandboxExe: self})
	if err != nil {
		return nil, fmt.Errorf("opening the bench target: %w", err)
	}
	s.tgt = tgt
	inst, err := tgt.Compute.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "loc-4090-a"}, Label: "scn-bench-snapshot", PublicKey: tgt.PublicKey})
	if err != nil {
		tgt.Close()
		return nil, fmt.Errorf("starting a local sandbox: %w", err)
	}
	s.Instance = inst.ID
	ready, err := cloud.WaitReady(ctx, tgt.Compute, inst.ID, cloud.WaitOptions{Interval: 50 * time.Millisecond, Timeout: time.Minute, Probe: tgt.Probe})
	if err != nil {
		s.destroy()
		return nil, fmt.Errorf("waiting for sandbox %s: %w", inst.ID, err)
	}
	if err := installAgent(ctx, tgt, ready, self); err != nil {
		s.destroy()
		return nil, err
	}
	return s, nil
}

// installAgent puts scn's agent on the sandbox once, as a drill's earlier
// steps or runs would have: its one-off cost (hashing, compressing and
// copying the binary) is not the per-GiB cost the bench measures. It finds
// the binary as the scn side does (agentctl.BesideExecutable there): an
// scn-agent beside self, or self serving `agent`.
func installAgent(ctx context.Context, tgt *target.Target, inst *cloud.Instance, self string) error {
	ex, err := tgt.Connect(ctx, inst)
	if err != nil {
		return fmt.Errorf("connecting to sandbox %s: %w", inst.ID, err)
	}
	if p, err := filepath.EvalSymlinks(self); err == nil {
		self = p
	}
	sess, err := agentctl.New(agentctl.Binaries{Dir: filepath.Dir(self), Self: self}).Start(ctx, ex, inst.ID)
	if err != nil {
		return fmt.Errorf("installing scn's agent on sandbox %s: %w", inst.ID, err)
	}
	return sess.Close()
}

// pid is the sandbox process, whose CPU time (with its commands') counts
// toward scn's.
func (s *scnSetup) pid() int {
	var st sandbox.State
	sandbox.ReadJSON(filepath.Join(s.StateDir, "local", s.Instance, sandbox.StateFile), &st)
	return st.PID
}

// destroy stops the sandbox and every process it started, and removes its
// folder; it works even when the bench's context was cancelled.
func (s *scnSetup) destroy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer s.tgt.Close()
	if s.Instance == "" {
		return nil
	}
	if err := s.tgt.Compute.Destroy(ctx, s.Instance, cloud.ReasonUser); err != nil {
		return fmt.Errorf("destroying sandbox %s: %w", s.Instance, err)
	}
	return nil
}
