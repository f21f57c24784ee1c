package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tool is one contestant: a snapshot of the workspace into its store and a
// restore from it into dest, each measured; stored says how big the stored
// data is, clear removes it.
type tool interface {
	label() string
	snapshot(ctx context.Context, run int) (usage, error)
	restore(ctx context.Context, run int, dest string) (usage, error)
	stored(ctx context.Context, run int) (int64, error)
	clear(ctx context.Context, run int) error
}

// cleanEnv is this process's environment without any S3, restic or cloud
// setting of the user's: every tool gets exactly the bench's.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "RESTIC_") || strings.HasPrefix(k, "B2_") || strings.HasPrefix(k, "SCN_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// ceiling is what this machine can do at best: tar and LZ4 on local disk,
// no network, no store (restore reads a local .tar.lz4).
type ceiling struct {
	b    *bench
	file string
}

func (c *ceiling) label() string { return "ceiling: tar | lz4 -1, local" }

func (c *ceiling) snapshot(ctx context.Context, run int) (usage, error) {
	u, err := measure(bash(ctx, cleanEnv(), `tar -C "$1" -cf - . | lz4 -1 -c > /dev/null`, c.b.ws))
	if err != nil {
		return u, err
	}
	// Untimed: the same stream into a file, for the restore ceiling.
	c.file = filepath.Join(c.b.root, "ceiling.tar.lz4")
	_, err = measure(bash(ctx, cleanEnv(), `tar -C "$1" -cf - . | lz4 -1 -c > "$2"`, c.b.ws, c.file))
	return u, err
}

func (c *ceiling) restore(ctx context.Context, run int, dest string) (usage, error) {
	return measure(bash(ctx, cleanEnv(), `mkdir -p "$2"; lz4 -d -c "$1" | tar -C "$2" -xf -`, c.file, dest))
}

func (c *ceiling) stored(context.Context, int) (int64, error) {
	fi, err := os.Stat(c.file)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (c *ceiling) clear(context.Context, int) error { return os.Remove(c.file) }

// scnTool is scn's pipeline run by a child process against the sandbox.
type scnTool struct {
	b      *bench
	target string // targetS3 or targetDir
	agent  bool   // scn's agent moves the bytes (else they stream through scn)
	name   string // tool name, for profile files
	sizes  map[int]int64
}

func (s *scnTool) label() string {
	switch {
	case s.target == targetDir:
		return "scn → dir store, agent on the sandbox"
	case s.agent:
		return "scn → S3, agent on the sandbox"
	}
	return "scn → S3, through scn over SSH"
}

func (s *scnTool) run(ctx context.Context, op string, run int, path string) (usage, *scnResult, error) {
	a := scnArgs{state: s.b.scn.StateDir, config: s.b.scn.ConfigFile, target: s.target, instance: s.b.scn.Instance,
		op: op, path: path, name: fmt.Sprintf("bench-%d", run), agent: s.agent}
	if s.b.cfg.Profile != "" {
		a.profile = filepath.Join(s.b.cfg.Profile, fmt.Sprintf("%s-%s-%d", s.name, op, run))
	}
	cmd := command(ctx, append(scnEnv(), s.b.cfg.ScnEnv...), s.b.cfg.Self, a.list()...)
	var out strings.Builder
	cmd.Stdout = &out
	u, err := measure(cmd)
	if err != nil {
		return u, nil, err
	}
	var res scnResult
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		return u, nil, fmt.Errorf("scn %s printed %q: %v", op, out.String(), err)
	}
	if res.PeakRSS > 0 {
		u.MaxRSS = res.PeakRSS // its own, without the bench's share of rusage
	}
	u.Via, u.SCNBytes, u.AgentRSS = res.Via, res.SCNBytes, res.AgentRSS
	return u, &res, nil
}

func (s *scnTool) snapshot(ctx context.Context, run int) (usage, error) {
	u, res, err := s.run(ctx, "snapshot", run, s.b.ws)
	if err == nil {
		s.sizes[run] = res.BytesStored
	}
	return u, err
}

func (s *scnTool) restore(ctx context.Context, run int, dest string) (usage, error) {
	u, _, err := s.run(ctx, "restore", run, dest)
	return u, err
}

func (s *scnTool) stored(_ context.Context, run int) (int64, error) { return s.sizes[run], nil }

func (s *scnTool) clear(ctx context.Context, run int) error {
	if s.target == targetS3 {
		return s.b.srv.clear(ctx, "scn/")
	}
	return os.RemoveAll(filepath.Join(s.b.root, "dirstore"))
}

// awsTool is the usual shell answer: tar | lz4 | aws s3 cp.
type awsTool struct{ b *bench }

func (a *awsTool) label() string { return "tar | lz4 -1 | aws s3 cp" }

func (a *awsTool) url(run int) string {
	return fmt.Sprintf("s3://%s/aws/run-%d.tar.lz4", s3Bucket, run)
}

// env isolates the CLI from the user's ~/.aws and turns off the default
// CRC checksums of aws-cli ≥ 2.23 / 1.37 (Debian's 2.9 has none): the
// bench measures moving data, and B2, scn's real store, refuses them.
func (a *awsTool) env() []string {
	return append(cleanEnv(), "AWS_ACCESS_KEY_ID="+s3KeyID, "AWS_SECRET_ACCESS_KEY="+s3Secret,
		"AWS_CONFIG_FILE="+a.b.awsConfig, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(a.b.root, "aws-no-credentials"),
		"AWS_REGION="+s3Region, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		"AWS_REQUEST_CHECKSUM_CALCULATION=when_required", "AWS_RESPONSE_CHECKSUM_VALIDATION=when_required")
}

// awsConfigText makes the CLI address buckets path-style, as the S3 server
// expects.
const awsConfigText = "[default]\nregion = " + s3Region + "\ns3 =\n  addressing_style = path\n"

func (a *awsTool) snapshot(ctx context.Context, run int) (usage, error) {
	return measure(bash(ctx, a.env(), `tar -C "$1" -cf - . | lz4 -1 -c | "$2" s3 cp - "$3" --endpoint-url "$4" --only-show-errors`,
		a.b.ws, a.b.cfg.AWS, a.url(run), a.b.srv.Endpoint))
}

func (a *awsTool) restore(ctx context.Context, run int, dest string) (usage, error) {
	return measure(bash(ctx, a.env(), `mkdir -p "$1"; "$2" s3 cp "$3" - --endpoint-url "$4" --only-show-errors | lz4 -d -c | tar -C "$1" -xf -`,
		dest, a.b.cfg.AWS, a.url(run), a.b.srv.Endpoint))
}

func (a *awsTool) stored(ctx context.Context, run int) (int64, error) {
	return a.b.srv.size(ctx, fmt.Sprintf("aws/run-%d.tar.lz4", run))
}

func (a *awsTool) clear(ctx context.Context, run int) error { return a.b.srv.clear(ctx, "aws/") }

// resticTool is restic with its repository on the same S3 server; each run
// gets a fresh repository, or deduplication would make later runs free.
type resticTool struct{ b *bench }

func (r *resticTool) label() string { return "restic backup / restore (S3)" }

func (r *resticTool) prefix(run int) string { return fmt.Sprintf("restic-%d", run) }

func (r *resticTool) env(run int) []string {
	return append(cleanEnv(), "AWS_ACCESS_KEY_ID="+s3KeyID, "AWS_SECRET_ACCESS_KEY="+s3Secret,
		"RESTIC_REPOSITORY=s3:"+r.b.srv.Endpoint+"/"+s3Bucket+"/"+r.prefix(run),
		"RESTIC_PASSWORD=bench", "RESTIC_CACHE_DIR="+filepath.Join(r.b.root, "restic-cache"))
}

func (r *resticTool) snapshot(ctx context.Context, run int) (usage, error) {
	if _, err := measure(command(ctx, r.env(run), r.b.cfg.Restic, "init", "-q")); err != nil {
		return usage{}, err
	}
	cmd := command(ctx, r.env(run), r.b.cfg.Restic, "backup", "-q", ".")
	cmd.Dir = r.b.ws // the snapshot then holds the workspace's entries at its root
	return measure(cmd)
}

func (r *resticTool) restore(ctx context.Context, run int, dest string) (usage, error) {
	return measure(command(ctx, r.env(run), r.b.cfg.Restic, "restore", "-q", "latest", "--target", dest))
}

func (r *resticTool) stored(ctx context.Context, run int) (int64, error) {
	return r.b.srv.size(ctx, r.prefix(run)+"/")
}

func (r *resticTool) clear(ctx context.Context, run int) error {
	if err := r.b.srv.clear(ctx, r.prefix(run)+"/"); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(r.b.root, "restic-cache"))
}
