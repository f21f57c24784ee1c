package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// testdata is absolute: tests change their working directory (scnIn).
var testdata, _ = filepath.Abs("testdata")

// scnIn runs the CLI in this process with its working directory at dir and
// returns stdout, stderr and the exit code main would give.
func scnIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	t.Chdir(dir)
	var out, errb bytes.Buffer
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	code := 0
	if err := root.Execute(); err != nil {
		var ex *exitError
		if !errors.As(err, &ex) {
			t.Fatalf("scn %v: %v", args, err)
		}
		code = ex.code
		errb.WriteString(ex.msg + "\n")
	}
	return out.String(), errb.String(), code
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdata, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const goodScenario = "name: good\nsteps:\n  - action: log\n    with: { message: hi }\n"

// scn validate DIR checks every scenario under DIR, at any depth, and
// only scenarios: YAML in hidden directories, testdata/ and the project
// config is not read (each of those here would fail if it were).
func TestValidateDirectory(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"drills/a.yaml":                goodScenario,
		"drills/nested/b.yml":          strings.Replace(goodScenario, "good", "nested", 1),
		"drills/nested/typo.yaml":      "name: typo\nsteps:\n  - action: lgo\n    with: { message: hi }\n",
		"drills/notes.txt":             "not a scenario",
		"drills/.github/workflow.yaml": "on: push\n",
		"drills/testdata/broken.yaml":  "steps: [\n",
		"drills/scn.yaml":              "targets: {}\n",
	})
	stdout, stderr, code := scnIn(t, dir, "validate", "drills")
	if code != 2 {
		t.Errorf("exit %d, want 2 (one scenario has a problem)", code)
	}
	golden(t, "validate-dir.golden", "stdout:\n"+stdout+"stderr:\n"+stderr)

	if err := os.Remove(filepath.Join(dir, "drills/nested/typo.yaml")); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = scnIn(t, dir, "validate", "drills", filepath.Join("drills", "scn.yaml"))
	if code != 2 || !strings.Contains(stderr, "drills/scn.yaml:1:1: the scenario has no name:") {
		t.Errorf("a file named on the command line is validated whatever its name: exit %d\n%s", code, stderr)
	}
	if want := "ok  drills/a.yaml (good: 1 steps)\nok  drills/nested/b.yml (nested: 1 steps)\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
}

// A directory holding no scenario is an error, not a silent pass: a
// mistyped path must not look like "nothing wrong".
func TestValidateEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"empty/readme.md": "# drills\n"})
	_, stderr, code := scnIn(t, dir, "validate", "empty")
	if code != 2 || !strings.Contains(stderr, "empty holds no scenario") {
		t.Errorf("exit %d, stderr %q; want exit 2 saying the directory holds no scenario", code, stderr)
	}
}
