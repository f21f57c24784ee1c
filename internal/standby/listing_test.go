package standby

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// oddNames are file names a naive listing would split, unquote or take
// for options.
var oddNames = []string{"a b.txt", "new\nline.txt", "-rf", "--help", "back\\slash", "ünï cödé", "tab\there", "quote'd\"", "*", "$(touch pwned)"}

func TestListingReadsAnyNameAndHonoursExcludes(t *testing.T) {
	dir := t.TempDir()
	for _, n := range oddNames {
		write(t, filepath.Join(dir, n), "x")
	}
	write(t, filepath.Join(dir, "d", "e", "f.bin"), "12345")
	must(t, os.Mkdir(filepath.Join(dir, "empty"), 0o700))
	must(t, os.Symlink("a b.txt", filepath.Join(dir, "ln")))
	for _, n := range []string{".cache/x", "d/.cache/y", "__pycache__/m.pyc", "d/z.tmp", "logs/run.log", "d/logs/kept.log"} {
		write(t, filepath.Join(dir, n), "skip")
	}
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	must(t, os.Chtimes(filepath.Join(dir, "d", "e", "f.bin"), mtime, mtime))

	out, err := remote.Run(context.Background(), remote.Shell{Dir: t.TempDir()},
		listCommand(dir, append(append([]string{}, DefaultExclude...), "logs/*.log"), time.Time{}), nil)
	must(t, err)
	snap, err := parseListing([]byte(out))
	must(t, err)
	if d := time.Since(snap.Clock); d < 0 || d > time.Minute {
		t.Errorf("machine clock %v is not now", snap.Clock)
	}
	var names []string
	for n := range snap.Entries {
		names = append(names, n)
	}
	sort.Strings(names)
	want := append([]string{"d", "d/e", "d/e/f.bin", "d/logs", "d/logs/kept.log", "empty", "ln", "logs"}, oddNames...)
	sort.Strings(want)
	if !reflect.DeepEqual(names, want) {
		t.Errorf("listed %q\nwant     %q", names, want)
	}
	if e := snap.Entries["d/e/f.bin"]; e != (Entry{Type: 'f', Size: 5, MTime: mtime.UnixNano(), Mode: 0o644}) {
		t.Errorf("d/e/f.bin = %+v", e)
	}
	if e := snap.Entries["ln"]; e.Type != 'l' || e.Link != "a b.txt" {
		t.Errorf("ln = %+v", e)
	}
	if e := snap.Entries["empty"]; e.Type != 'd' || e.Mode != 0o700 {
		t.Errorf("empty = %+v", e)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("a file name was run as a command")
	}
}

func TestListingSinceListsOnlyNewerEntries(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	write(t, filepath.Join(dir, "old.txt"), "o")
	must(t, os.Chtimes(filepath.Join(dir, "old.txt"), old, old))
	write(t, filepath.Join(dir, "new.txt"), "n")
	out, err := remote.Run(context.Background(), remote.Shell{Dir: dir}, listCommand(dir, nil, old.Add(time.Second)), nil)
	must(t, err)
	snap, err := parseListing([]byte(out))
	must(t, err)
	if _, ok := snap.Entries["old.txt"]; ok || snap.Entries["new.txt"].Type != 'f' {
		t.Errorf("since an hour ago: %v", snap.Entries)
	}
}

func TestListingRefusesAnIncompleteAnswer(t *testing.T) {
	for _, bad := range []string{
		"",
		"1700000000.5\x00",           // no end
		"1700000000.5\x00f\x001\x00", // cut mid-record
		"1700000000.5\x00f\x001\x00x\x00644\x00\x00a\x00end\x00", // bad mtime
		"1700000000.5\x00f\x001\x001.0\x00644\x00\x00../up\x00end\x00",
		"1700000000.5\x00f\x001\x001.0\x00644\x00\x00/abs\x00end\x00",
	} {
		if _, err := parseListing([]byte(bad)); err == nil {
			t.Errorf("parseListing(%q) accepted it", bad)
		}
	}
	// A missing folder is an error of the command, not an empty listing.
	_, err := remote.Run(context.Background(), remote.Shell{Dir: t.TempDir()}, listCommand("/nonexistent/ws", nil, time.Time{}), nil)
	if err == nil {
		t.Error("listing a missing folder succeeded")
	}
}

func TestDiff(t *testing.T) {
	f := func(size, mtime int64) Entry { return Entry{Type: 'f', Size: size, MTime: mtime, Mode: 0o644} }
	d := Entry{Type: 'd', Mode: 0o755}
	src := Listing{
		"same": f(1, 1), "grown": f(2, 1), "touched": f(1, 2), "new": f(1, 1),
		"chmod": {Type: 'f', Size: 1, MTime: 1, Mode: 0o600},
		"dir":   d, "dir/in": f(1, 1), "was-file": d, "was-file/x": f(1, 1),
		"ln": {Type: 'l', Link: "new"}, "olddir": {Type: 'd', Mode: 0o700},
	}
	dst := Listing{
		"same": f(1, 1), "grown": f(1, 1), "touched": f(1, 1), "chmod": f(1, 1),
		"dir": {Type: 'd', Mode: 0o755}, "dir/in": f(1, 1), "was-file": f(3, 3),
		"ln": {Type: 'l', Link: "same"}, "olddir": d,
		"gone": f(1, 1), "gonedir": d, "gonedir/a": f(1, 1), "gonedir/b/c": f(1, 1),
	}
	p := diff(src, dst)
	wantSend := []string{"chmod", "grown", "ln", "new", "olddir", "touched", "was-file", "was-file/x"}
	wantRemove := []string{"gone", "gonedir", "was-file"}
	if !reflect.DeepEqual(p.send, wantSend) || !reflect.DeepEqual(p.remove, wantRemove) {
		t.Errorf("send %q remove %q\nwant send %q remove %q", p.send, p.remove, wantSend, wantRemove)
	}
	if p := diff(src, src); len(p.send)+len(p.remove) != 0 {
		t.Errorf("identical listings: %+v", p)
	}
}
