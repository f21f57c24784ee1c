package snapshot

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scnlabs/scn/internal/store/s3test"
)

// machineProcs returns the environment and command line of every process
// of the machine (whose environment has its HOME): the agent and what it
// runs, while they run.
func machineProcs(t *testing.T, home string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range envs {
		env, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(env, []byte("\x00HOME="+home+"\x00")) && !bytes.HasPrefix(env, []byte("HOME="+home+"\x00")) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		out[filepath.Dir(p)] = append(env, cmdline...)
	}
	return out
}

// filesUnder reads every regular file under the roots.
func filesUnder(t *testing.T, roots ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if b, err := os.ReadFile(p); err == nil {
					out[p] = b
				}
			}
			return nil
		})
	}
	return out
}

// The store's secret key never reaches the machine: not in the agent's
// environment or command line (nor those of what it runs), not in any file
// it leaves there, whether it snapshots or restores.
func TestStoreSecretNeverReachesTheMachine(t *testing.T) {
	mc := newMachine(t)
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 6<<20)
	st := s3Store(t)
	dst := filepath.Join(t.TempDir(), "restored")

	var mu sync.Mutex
	seen := map[string][]byte{}
	look := func() {
		mu.Lock()
		defer mu.Unlock()
		procs := machineProcs(t, mc.home)
		if len(procs) == 0 {
			t.Error("no process of the machine found while its agent works: the check would see nothing")
		}
		for k, v := range procs {
			seen[k+" (during)"] = v
		}
	}
	var once1, once2 sync.Once
	if _, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "s", Store: st, Agent: mc.agent,
		Progress: func(int64) { once1.Do(look) }}); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(testCtx(t), RestoreOptions{Exec: mc.x, Store: st, Name: "s", Path: dst, Verify: true, Agent: mc.agent,
		Progress: func(int64) { once2.Do(look) }}); err != nil {
		t.Fatal(err)
	}
	for k, v := range filesUnder(t, mc.home, src, dst) {
		seen[k] = v
	}
	secret := []byte(s3test.SecretAccessKey)
	forms := [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte(base64.RawURLEncoding.EncodeToString(secret))}
	for where, data := range seen {
		for _, f := range forms {
			if bytes.Contains(data, f) {
				t.Errorf("the store's secret reached the machine: %s holds %q", where, f)
			}
		}
	}
	if len(seen) < 3 {
		t.Fatalf("only %d places looked at", len(seen))
	}
}
