package files

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/scnlabs/scn/internal/remote"
)

func check(t *testing.T, files []File, dir, sourceDir string) *Report {
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

func TestCheckVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string) // applied to the second file
		status string
		got    func(path string) string // expected Got for the damaged file
	}{
		{"intact", func(*testing.T, string) {}, Valid, nil},
		{"deleted", func(t *testing.T, p string) { must(t, os.Remove(p)) }, Missing, func(string) string { return "" }},
		{"one byte altered", func(t *testing.T, p string) {
			data, err := os.ReadFile(p)
			must(t, err)
			data[len(data)-2] ^= 0x20
			must(t, os.WriteFile(p, data, 0o644))
		}, Mismatch, func(p string) string { data, _ := os.ReadFile(p); return md5hex(data) }},
		{"replaced by a directory", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, os.Mkdir(p, 0o755))
		}, Missing, func(string) string { return "(not a regular file)" }},
		{"replaced by a FIFO (md5sum would hang on it)", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, syscall.Mkfifo(p, 0o644))
		}, Missing, func(string) string { return "(not a regular file)" }},
		{"dangling symlink", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, os.Symlink(p+".gone", p))
		}, Missing, func(string) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ws := write(t, CreateOptions{Dir: dir, Count: 3, Prefix: "test-file-", RunID: "r"})
			tc.damage(t, ws[1].Path)
			r := check(t, recorded(ws), dir, "")
			if r.Total != 3 || r.Results[0].Status != Valid || r.Results[2].Status != Valid {
				t.Fatalf("untouched files not valid: %+v", r.Results)
			}
			res := r.Results[1]
			if res.Status != tc.status || res.Path != ws[1].Path || res.Expected != ws[1].MD5 {
				t.Fatalf("damaged file: %+v, want status %s, path %s, expected %s", res, tc.status, ws[1].Path, ws[1].MD5)
			}
			if tc.got != nil && res.Got != tc.got(ws[1].Path) {
				t.Errorf("got = %q, want %q", res.Got, tc.got(ws[1].Path))
			}
			lines := strings.Join(r.Lines(), "\n")
			if tc.status == Valid {
				if !r.Success() || r.Err() != nil || r.Rate() != 100 || len(r.Failed()) != 0 {
					t.Errorf("all valid but success=%v err=%v rate=%v failed=%v", r.Success(), r.Err(), r.Rate(), r.Failed())
				}
				if !strings.Contains(lines, "Files validated: 3/3\nSuccess rate: 100.0%") {
					t.Errorf("log:\n%s", lines)
				}
				return
			}
			if r.Success() || r.Valid != 2 || r.Missing+r.Mismatched != 1 || !slices.Equal(r.Failed(), []string{ws[1].Path}) {
				t.Errorf("report %+v failed %v", r, r.Failed())
			}
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), ws[1].Path) {
				t.Errorf("Err() = %v, want it to name %s", err, ws[1].Path)
			}
			want := "✗ File missing  " + ws[1].Path
			if tc.status == Mismatch {
				want = "✗ MD5 mismatch  " + ws[1].Path + "\n   Expected: " + ws[1].MD5 + "\n   Got:      " + res.Got
			}
			if !strings.Contains(lines, want) || !strings.Contains(lines, "Files validated: 2/3\nSuccess rate: 66.7%") {
				t.Errorf("log lacks %q or the totals:\n%s", want, lines)
			}
			v := r.Validation()
			if v.Success || v.Total != 3 || len(v.Failures) != 1 || v.Failures[0].Problem != tc.status || v.Failures[0].Path != ws[1].Path {
				t.Errorf("validation %+v", v)
			}
		})
	}
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
	// Names Write never makes but a restore might hold: a newline, a
	// leading dash, a backslash (which makes md5sum escape its output).
	odd := []string{"line\nbreak", "-n", `back\slash`, "tab\there", "cr\rname", `both\and` + "\n"}
	var paths []string
	for _, n := range odd {
		p := filepath.Join(dir, n)
		must(t, os.WriteFile(p, []byte(n), 0o644))
		paths = append(paths, p)
	}
	paths = append(paths, filepath.Join(dir, "not\nthere"))
	got, err := Inspect(context.Background(), remote.Shell{Dir: dir}, paths)
	must(t, err)
	for i, n := range odd {
		if got[i].State != StateOK || got[i].MD5 != md5hex([]byte(n)) || got[i].Size != int64(len(n)) {
			t.Errorf("%q: %+v", n, got[i])
		}
	}
	if got[len(odd)].State != StateMissing {
		t.Errorf("missing file reported as %+v", got[len(odd)])
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
	saved := filepath.Join(t.TempDir(), "out", "failover_files_42.json")
	must(t, Save(saved, all))

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
	if r := check(t, loaded, dirB, ""); r.Missing != 1 || r.Results[1].Status != Missing {
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

func TestInspectManyFilesInBatches(t *testing.T) {
	dir := t.TempDir()
	const n = 2*batchFiles + 37
	var paths []string
	for i := range n {
		p := filepath.Join(dir, "f"+strconv.Itoa(i))
		if i%100 != 7 { // every hundredth is missing
			must(t, os.WriteFile(p, []byte(p), 0o644))
		}
		paths = append(paths, p)
	}
	got, err := Inspect(context.Background(), remote.Shell{Dir: dir}, paths)
	must(t, err)
	for i, p := range paths {
		want := Remote{StateOK, md5hex([]byte(p)), int64(len(p))}
		if i%100 == 7 {
			want = Remote{State: StateMissing}
		}
		if got[i] != want {
			t.Fatalf("%s: %+v, want %+v", p, got[i], want)
		}
	}
}

func TestInspectWithoutMd5sum(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	must(t, os.WriteFile(p, []byte("x"), 0o644))
	// A PATH with stat but no md5sum, as on a stripped-down image.
	bin := t.TempDir()
	for _, tool := range []string{"sh", "stat"} {
		found, err := exec.LookPath(tool)
		must(t, err)
		must(t, os.Symlink(found, filepath.Join(bin, tool)))
	}
	_, err := Inspect(context.Background(), remote.Shell{Dir: dir, Env: []string{"PATH=" + bin}}, []string{p})
	if err == nil || !strings.Contains(err.Error(), "md5sum not found on the machine") {
		t.Fatalf("err = %v", err)
	}
}
