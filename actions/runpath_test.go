package actions_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions"
)

func TestCheckRunPath(t *testing.T) {
	for p, want := range map[string]string{
		"":                      "",
		"files.json":            "",
		"out/files_{id}.json":   "",
		"./out/../files.json":   "",
		"a/b/../c.json":         "",
		"..files.json":          "", // a name starting with dots, not a climb
		"/etc/scn-files.json":   "is an absolute path",
		"../escaped.json":       "leaves the run directory",
		"../../../escaped.json": "leaves the run directory",
		"out/../../x.json":      "leaves the run directory",
		"..":                    "leaves the run directory",
		".":                     "the run directory itself",
		"out/..":                "the run directory itself",
	} {
		err := actions.CheckRunPath(p)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckRunPath(%q) = %v, want %q", p, err, want)
		}
		var rp actions.RunPath
		if derr := rp.DecodeParam(p); (derr == nil) != (err == nil) || derr == nil && string(rp) != p {
			t.Errorf("DecodeParam(%q) = %v (%q), CheckRunPath %v", p, derr, rp, err)
		}
	}
}

// WriteRunFile writes under the run directory, creating it and the
// folders of the name, and nowhere else: not through a symbolic link that
// points out, and not over one (the link itself is replaced).
func TestWriteRunFileStaysUnderTheRunDirectory(t *testing.T) {
	env := &actions.Env{Dir: filepath.Join(t.TempDir(), "runs", "r1")} // not made yet
	outside := t.TempDir()
	got, err := env.WriteRunFile("out/deep/list.json", []byte("[]\n"), 0o600)
	if want := filepath.Join(env.Dir, "out", "deep", "list.json"); err != nil || got != want {
		t.Fatalf("nested: %q %v, want %s", got, err, want)
	}
	if b, err := os.ReadFile(got); err != nil || string(b) != "[]\n" {
		t.Fatalf("read back %q %v", b, err)
	}

	for _, name := range []string{filepath.Join(outside, "abs.json"), "../escaped.json", "out/../../escaped.json"} {
		if _, err := env.WriteRunFile(name, []byte("x"), 0o600); err == nil {
			t.Errorf("%s written", name)
		}
	}
	if err := os.Symlink(outside, filepath.Join(env.Dir, "rel-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../..", filepath.Join(env.Dir, "out", "up")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rel-link/escaped.json", "rel-link/sub/escaped.json", "out/up/escaped.json"} {
		if _, err := env.WriteRunFile(name, []byte("x"), 0o600); err == nil || !strings.Contains(err.Error(), "under the run directory") {
			t.Errorf("%s through a link out of the run directory: %v", name, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the run directory: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(env.Dir)), "escaped.json")); err == nil {
		t.Error("written above the run directory")
	}

	// A link as the file itself is replaced, not written through.
	target := filepath.Join(outside, "target.json")
	link := filepath.Join(env.Dir, "list.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := env.WriteRunFile("list.json", []byte("[]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("list.json: %v %v, want a regular file", fi, err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("written through the link to %s", target)
	}

	// No run directory (scn do): the current directory.
	cwd := t.TempDir()
	t.Chdir(cwd)
	if got, err := (&actions.Env{}).WriteRunFile("here.json", []byte("[]\n"), 0o600); err != nil || got != filepath.Join(cwd, "here.json") {
		t.Errorf("without a run directory: %q %v", got, err)
	}
}
