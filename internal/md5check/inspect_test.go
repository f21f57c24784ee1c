package md5check

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/remote"
)

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestInspectStrangeNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dir with space ü")
	must(t, os.Mkdir(dir, 0o755))
	// Names a restore might hold: a newline, a leading dash, a backslash
	// (which makes md5sum escape its output), quotes and a command.
	odd := []string{`it's "ünï" $(touch pwned) ` + "`x`", "line\nbreak", "-n", `back\slash`, "tab\there", "cr\rname", `both\and` + "\n"}
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
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("a file name was run as a command")
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

func TestParseInspect(t *testing.T) {
	const sum = "d41d8cd98f00b204e9800998ecf8427e"
	const other = "0cc175b9c0f1b6a831c399e269772661"
	paths := []string{"/w/a", "/w/b", "/w/c", "/w/d", "/w/x\\y\nz", "/w/e"}
	good := "0 f\n1 m\n2 n\n3 f\n4 f\n5 f\n--sums\n" +
		sum + "  /w/a\n" + // 3 (/w/d) unreadable: md5sum skipped it
		"\\" + other + "  /w/x\\\\y\\nz\n" +
		sum + " */w/e\n--sizes\n0\n7\n1\n0\nend\n"
	got, err := parseInspect([]byte(good), paths)
	if err != nil {
		t.Fatal(err)
	}
	want := []Remote{{StateOK, sum, 0}, {State: StateMissing}, {State: StateNotFile},
		{StateUnreadable, "", 7}, {StateOK, other, 1}, {StateOK, sum, 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	two := []string{"/w/a", "/w/b"}
	for name, out := range map[string]string{
		"no end marker":     "0 f\n1 m\n--sums\n" + sum + "  /w/a\n--sizes\n0\n",
		"a file unreported": "0 m\n--sums\n--sizes\nend\n",
		"twice":             "0 m\n0 m\n1 m\n--sums\n--sizes\nend\n",
		"index too big":     "0 m\n1 m\n2 m\n--sums\n--sizes\nend\n",
		"bad md5":           "0 f\n1 m\n--sums\nxyz  /w/a\n--sizes\n3\nend\n",
		"sum of a stranger": "0 f\n1 m\n--sums\n" + sum + "  /w/q\n--sizes\n3\nend\n",
		"sizes missing":     "0 f\n1 m\n--sums\n" + sum + "  /w/a\n--sizes\nend\n",
		"unknown state":     "0 gone\n1 m\n--sums\n--sizes\nend\n",
		"noise":             "md5sum: oops\n0 m\n1 m\n--sums\n--sizes\nend\n",
		"after the end":     "0 m\n1 m\n--sums\n--sizes\nend\nmore\n",
	} {
		if _, err := parseInspect([]byte(out), two); err == nil {
			t.Errorf("%s: accepted %q", name, out)
		}
	}
}
