package files

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/md5check"
	"github.com/scnlabs/scn/internal/remote"
)

func check(t *testing.T, files []File, dir, sourceDir string) *md5check.Report {
	t.Helper()
	r, err := Check(context.Background(), remote.Shell{Dir: t.TempDir()}, files, dir, sourceDir)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return r
}

func recorded(ws []Written) []File {
	out := make([]File, len(ws))
	for i, w := range ws {
		out[i] = w.File
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStrangeNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dir with space ü")
	prefix := `it's "ünï cødé" $(touch pwned) ` + "`x` \\ *-"
	ws := write(t, CreateOptions{Dir: dir, Count: 2, Prefix: prefix, RunID: "r"})
	if _, err := os.Stat(ws[0].Path); err != nil || filepath.Base(ws[0].Path) != prefix+"1.txt" {
		t.Fatalf("file not written under its exact name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("a file name was run as a command")
	}
	if r := check(t, recorded(ws), dir, ""); !r.Success() {
		t.Fatalf("%+v", r.Results)
	}
}

// seedEntry is how the seed's validator reads the saved list.
type seedEntry struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	MD5     string `json:"md5"`
	Size    int64  `json:"size"`
}

func TestSavedListIsTheSeedsFormat(t *testing.T) {
	dirA := filepath.Join(t.TempDir(), "l-a", "workspace")
	ws := write(t, CreateOptions{Dir: dirA, Count: 3, Prefix: "test-file-", RunID: "r"})
	big := write(t, CreateOptions{Dir: dirA, Count: 1, Size: 100_000, Prefix: "big-", RunID: "r"})
	all := append(ws, big...)
	list, err := encodeList(all)
	must(t, err)
	env := &actions.Env{Dir: t.TempDir()} // as files.create writes it
	saved, err := env.WriteRunFile("out/failover_files_42.json", list, 0o600)
	must(t, err)

	data, err := os.ReadFile(saved)
	must(t, err)
	var raw []map[string]any
	must(t, json.Unmarshal(data, &raw))
	var entries []seedEntry
	must(t, json.Unmarshal(data, &entries))
	if len(entries) != 4 || len(raw[0]) != 4 {
		t.Fatalf("want 4 entries of exactly path/content/md5/size, got %s", data)
	}
	for i, e := range entries {
		disk, err := os.ReadFile(e.Path)
		must(t, err)
		if e.MD5 != md5hex(disk) || e.Size != int64(len(disk)) {
			t.Errorf("entry %d md5/size %s/%d, disk %s/%d", i, e.MD5, e.Size, md5hex(disk), len(disk))
		}
		if i < 3 && e.Content != string(disk) {
			t.Errorf("entry %d content %q, file holds %q", i, e.Content, disk)
		}
	}
	if entries[3].Content != "" {
		t.Error("a padded (binary) file's content was saved")
	}

	// Another sandbox: same files, another absolute workspace.
	dirB := filepath.Join(t.TempDir(), "l-b", "workspace")
	must(t, os.MkdirAll(dirB, 0o755))
	if out, err := exec.Command("cp", "-a", dirA+"/.", dirB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	loaded, err := Load(saved)
	must(t, err)
	if r := check(t, loaded, dirB, ""); !r.Success() || r.Results[0].Path != filepath.Join(dirB, "test-file-1.txt") {
		t.Fatalf("from the saved list on B: %+v", r.Results)
	}
	if r := check(t, loaded, dirB, dirA); !r.Success() {
		t.Fatalf("with source_dir: %+v", r.Results)
	}
	if r := check(t, recorded(all), dirB, ""); !r.Success() {
		t.Fatalf("from the recorded rel paths on B: %+v", r.Results)
	}
	must(t, os.Remove(filepath.Join(dirB, "test-file-2.txt")))
	if r := check(t, loaded, dirB, ""); r.Missing != 1 || r.Results[1].Status != md5check.Missing {
		t.Fatalf("a file missing on B was not reported: %+v", r.Results)
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not json":  `{"path": "/a"`,
		"an object": `{"path": "/a", "md5": "d41d8cd98f00b204e9800998ecf8427e"}`,
		"empty":     `[]`,
		"no md5":    `[{"path": "/workspace/a", "content": "x", "size": 1}]`,
		"no path":   `[{"md5": "d41d8cd98f00b204e9800998ecf8427e"}]`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		must(t, os.WriteFile(p, []byte(body), 0o644))
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "absent.json")); err == nil {
		t.Error("an absent list loaded")
	}
}
