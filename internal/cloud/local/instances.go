package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
)

// instanceConfig is a sandbox's config.json: what the sandbox reads plus
// what the provider needs to describe the instance later.
type instanceConfig struct {
	sandbox.Config
	Offer     cloud.Offer `json:"offer"`
	Image     string      `json:"image,omitempty"`
	DiskGB    float64     `json:"disk_gb,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
}

// idPattern is what Create hands out; anything else is not ours (and must
// never become a path).
var idPattern = regexp.MustCompile(`^l-[0-9a-f]{8}$`)

func (p *Provider) dir(id string) string { return filepath.Join(p.root, id) }

// Create implements cloud.Provider: it writes the sandbox's folder, starts
// the detached process and returns as soon as the process is up (SSH comes
// later: use cloud.WaitReady).
func (p *Provider) Create(ctx context.Context, req cloud.CreateRequest) (*cloud.Instance, error) {
	offer, ok := offerByID(req.Offer.ID)
	if !ok {
		return nil, &cloud.OfferGoneError{Offer: req.Offer.ID, Detail: "not in the local catalogue"}
	}
	cfg := instanceConfig{
		Config: sandbox.Config{Label: req.Label, Env: req.Env, OnStart: req.OnStart, GPU: gpuOf(offer), Faults: p.opts.Faults},
		Offer:  offer, Image: req.Image, DiskGB: req.DiskGB, CreatedAt: time.Now().UTC(),
	}
	if p.opts.Key != nil {
		cfg.AuthorizedKeys = append(cfg.AuthorizedKeys, p.opts.Key.AuthorizedKey)
	}
	if k := strings.TrimSpace(req.PublicKey); k != "" && (p.opts.Key == nil || k != p.opts.Key.AuthorizedKey) {
		cfg.AuthorizedKeys = append(cfg.AuthorizedKeys, k)
	}
	if len(cfg.AuthorizedKeys) == 0 {
		return nil, errors.New("local create: no SSH key for the sandbox to accept (Options.Key or CreateRequest.PublicKey)")
	}
	id, err := p.makeFolder(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.launch(ctx, id); err != nil {
		os.RemoveAll(p.dir(id))
		return nil, fmt.Errorf("start sandbox %s: %w", id, err)
	}
	return p.Get(ctx, id)
}

// makeFolder creates the sandbox's folder with its config.json and empty
// workspace under a new id. The folder is prepared under a hidden name and
// renamed into place, so no one ever sees an instance folder without its
// config.
func (p *Provider) makeFolder(cfg instanceConfig) (string, error) {
	if err := os.MkdirAll(p.root, 0o700); err != nil {
		return "", fmt.Errorf("local create: %w", err)
	}
	for range 10 {
		var b [4]byte
		rand.Read(b[:])
		id := "l-" + hex.EncodeToString(b[:])
		tmp := filepath.Join(p.root, ".new-"+id)
		if err := os.Mkdir(tmp, 0o700); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", fmt.Errorf("local create: %w", err)
		}
		err := os.Mkdir(filepath.Join(tmp, sandbox.WorkspaceDir), 0o755)
		if err == nil {
			err = sandbox.WriteJSON(filepath.Join(tmp, sandbox.ConfigFile), cfg)
		}
		if err == nil {
			if _, serr := os.Stat(p.dir(id)); serr == nil {
				os.RemoveAll(tmp)
				continue // taken by another scn a moment ago
			}
			err = os.Rename(tmp, p.dir(id))
		}
		if err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("local create %s: %w", id, err)
		}
		return id, nil
	}
	return "", errors.New("local create: could not find a free instance id")
}

// launch starts the sandbox process detached from scn (its own session, no
// terminal, output to sandbox.log) and waits until it holds its lock.
func (p *Provider) launch(ctx context.Context, id string) error {
	exe, err := p.exe()
	if err != nil {
		return err
	}
	dir := p.dir(id)
	logf, err := os.OpenFile(filepath.Join(dir, sandbox.LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	ready, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer ready.Close()
	cmd := exec.Command(exe)
	cmd.Args = []string{"scn-sandbox:" + id} // what ps shows
	cmd.Dir = dir
	cmd.Env = sandboxEnv(dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("run %s: %w", exe, err)
	}
	// Reap the process should it die while scn runs; once scn exits, init does.
	go cmd.Wait()

	// The sandbox closes its end of the pipe when it is up, or dies: either
	// way the read ends.
	ready.SetReadDeadline(time.Now().Add(p.opts.StartTimeout))
	stop := context.AfterFunc(ctx, func() { ready.SetReadDeadline(time.Now()) })
	_, rerr := io.Copy(io.Discard, ready)
	stop()
	if alive, _ := sandbox.Alive(dir); alive {
		return nil
	}
	cmd.Process.Kill()
	if rerr != nil {
		return fmt.Errorf("process %d not up: %w", cmd.Process.Pid, rerr)
	}
	return fmt.Errorf("process %d exited at once: %s", cmd.Process.Pid, lastLogLine(dir))
}

// sandboxEnv is the sandbox process's environment: only what a Go binary
// needs to run (and to be measured under test). scn's own environment holds
// cloud credentials, which have no business on a "machine".
func sandboxEnv(dir string) []string {
	// GOGC=400: a sandbox moves whole workspaces through SSH, whose buffers
	// are short-lived garbage; collecting less often raised its throughput
	// by a third in make bench-snapshot, at a few MiB of memory.
	env := []string{EnvSandboxDir + "=" + dir, sandbox.EnvReadyFD + "=3", "GOGC=400"}
	for _, k := range []string{"PATH", "TMPDIR", "LANG", "LC_ALL", "GORACE", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// lastLogLine is the sandbox's last words, for error messages.
func lastLogLine(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, sandbox.LogFile))
	if err != nil {
		return "no log: " + err.Error()
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(lines[len(lines)-1])
}

// Get implements cloud.Provider, from the folder and the process's lock.
func (p *Provider) Get(_ context.Context, id string) (*cloud.Instance, error) {
	if !idPattern.MatchString(id) {
		return nil, fmt.Errorf("local instance %q: %w", id, cloud.ErrNotFound)
	}
	dir := p.dir(id)
	var cfg instanceConfig
	if err := sandbox.ReadJSON(filepath.Join(dir, sandbox.ConfigFile), &cfg); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("local instance %s: %w", id, cloud.ErrNotFound)
		}
		return nil, fmt.Errorf("local instance %s: %w", id, err)
	}
	var st sandbox.State
	if err := sandbox.ReadJSON(filepath.Join(dir, sandbox.StateFile), &st); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("local instance %s: %w", id, err)
	}
	alive, err := sandbox.Alive(dir)
	if err != nil {
		return nil, fmt.Errorf("local instance %s: %w", id, err)
	}
	inst := &cloud.Instance{
		ID: id, Provider: ProviderName, Label: cfg.Label, Status: cloud.StatusExited,
		StatusMsg: "sandbox process is gone; its folder is kept",
		Workspace: filepath.Join(dir, sandbox.WorkspaceDir), GPU: cfg.Offer.GPU, NumGPUs: cfg.Offer.NumGPUs,
		PricePerHour: cfg.Offer.PricePerHour, Simulated: true, CreatedAt: cfg.CreatedAt,
		Host: "127.0.0.1", User: sandbox.CurrentUser(),
	}
	if alive {
		inst.Status, inst.StatusMsg = st.Status, ""
		if inst.Status == "" {
			inst.Status = cloud.StatusLoading
		}
		if st.Status == sandbox.StatusRunning {
			inst.Port, inst.HostKey = st.Port, st.HostKey
		}
	}
	return inst, nil
}

// List implements cloud.Provider.
func (p *Provider) List(ctx context.Context, labelPrefix string) ([]cloud.Instance, error) {
	entries, err := os.ReadDir(p.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list local instances: %w", err)
	}
	var out []cloud.Instance
	for _, e := range entries {
		if !e.IsDir() || !idPattern.MatchString(e.Name()) {
			continue
		}
		inst, err := p.Get(ctx, e.Name())
		if errors.Is(err, cloud.ErrNotFound) {
			continue // destroyed meanwhile
		}
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(inst.Label, labelPrefix) {
			out = append(out, *inst)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
