package assembly

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/target"
)

// openWith writes scn.yaml and opens target name with env as the environment.
func openWith(t *testing.T, name, yaml string, env map[string]string) (*target.Target, error) {
	t.Helper()
	state := t.TempDir()
	file := filepath.Join(state, "scn.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	tgt, err := Open(context.Background(), OpenOptions{Name: name, StateDir: state, ConfigFile: file,
		Getenv: func(k string) string { return env[k] }})
	if err == nil {
		t.Cleanup(tgt.Close)
	}
	return tgt, err
}

// An s3 store that names no variables takes its keys from the default
// ones, as docs/targets.md and the config check's message promise.
func TestS3StoreWithoutKeyNamesUsesTheDefaultVariables(t *testing.T) {
	const yaml = "targets:\n  local:\n    store: { kind: s3, endpoint: \"https://127.0.0.1:9\", bucket: drills }\n"
	env := map[string]string{"B2_KEY_ID": "id-0042", "B2_APPLICATION_KEY": "K005-secret"}
	tgt, err := openWith(t, "local", yaml, env)
	if err != nil {
		t.Fatalf("s3 store with the default variables set: %v", err)
	}
	if tgt.Store == nil {
		t.Fatal("no store")
	}
	for _, v := range env {
		if !slices.Contains(tgt.Secrets, v) {
			t.Errorf("secret %q is not masked: %v", v, tgt.Secrets)
		}
	}
	if _, err := openWith(t, "local", yaml, nil); err == nil {
		t.Error("an s3 store opened with no key at all")
	}
}

func TestS3StoreTakesTheVariablesItNames(t *testing.T) {
	const yaml = "targets:\n  local:\n    store: { kind: s3, endpoint: \"https://127.0.0.1:9\", bucket: drills, access_key_env: MY_ID, secret_key_env: MY_SECRET }\n"
	tgt, err := openWith(t, "local", yaml, map[string]string{"MY_ID": "id-7", "MY_SECRET": "s-7"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tgt.Secrets, "s-7") || !slices.Contains(tgt.Secrets, "id-7") {
		t.Errorf("secrets %v", tgt.Secrets)
	}
	_, err = openWith(t, "local", yaml, map[string]string{"B2_KEY_ID": "id", "B2_APPLICATION_KEY": "s"})
	if err == nil || !strings.Contains(err.Error(), "$MY_ID and $MY_SECRET") {
		t.Errorf("named variables unset: %v", err)
	}
}
