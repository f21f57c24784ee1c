package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateHoldsEveryKindOfEntryAndIsRepeatable(t *testing.T) {
	const size = 2 << 20
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	info, err := generate(a, size, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := generate(b, size, 7); err != nil {
		t.Fatal(err)
	}
	ea, err := listTree(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := listTree(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := compareTrees(ea, eb, 3); len(d) > 0 {
		t.Fatalf("same seed, different workspaces: %v", d)
	}

	var total int64
	byPath := map[string]treeEntry{}
	for _, e := range ea {
		byPath[e.Path] = e
		if e.Type == "file" {
			total += e.Size
		}
	}
	if total != size || info.Bytes != size {
		t.Errorf("file bytes: %d on disk, %d reported, want %d", total, info.Bytes, size)
	}
	if info.SmallFiles < 10 || info.MidFiles != midFiles || info.LargeFiles != largeFiles {
		t.Errorf("file counts %+v", info)
	}
	if e := byPath["checkpoints/latest.bin"]; e.Type != "symlink" || e.Link != "shard-0.bin" {
		t.Errorf("symlink: %+v", e)
	}
	if e := byPath["cache/empty"]; e.Type != "dir" {
		t.Errorf("empty dir: %+v", e)
	}
	if e := byPath["run.sh"]; e.Mode != 0o755 {
		t.Errorf("run.sh mode %04o, want 0755", e.Mode)
	}
	if !strings.Contains(info.String(), "symlink") {
		t.Errorf("description %q", info)
	}

	c := filepath.Join(t.TempDir(), "c")
	if _, err := generate(c, size, 8); err != nil {
		t.Fatal(err)
	}
	ec, _ := listTree(c)
	if len(compareTrees(ea, ec, 3)) == 0 {
		t.Error("another seed gave the same workspace")
	}
}

func TestCompareTreesFindsEveryKindOfDifference(t *testing.T) {
	root := t.TempDir()
	write := func(p, data string, mode os.FileMode) {
		t.Helper()
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(full, mode)
	}
	write("a.txt", "hello", 0o644)
	write("d/b.txt", "world", 0o755)
	os.Symlink("a.txt", filepath.Join(root, "link"))
	want, err := listTree(root)
	if err != nil {
		t.Fatal(err)
	}
	if d := compareTrees(want, want, 5); len(d) != 0 {
		t.Fatalf("a tree differs from itself: %v", d)
	}

	write("a.txt", "hellO", 0o644)                     // content
	os.Chmod(filepath.Join(root, "d", "b.txt"), 0o644) // mode
	os.Remove(filepath.Join(root, "link"))             // symlink target
	os.Symlink("d/b.txt", filepath.Join(root, "link")) //
	write("extra", "", 0o644)                          // unexpected
	os.Mkdir(filepath.Join(root, "empty"), 0o755)      // unexpected dir
	got, err := listTree(root)
	if err != nil {
		t.Fatal(err)
	}
	diffs := compareTrees(want, got, 10)
	joined := strings.Join(diffs, "\n")
	for _, w := range []string{"a.txt: got file", "d/b.txt: got file 0644", "link: got symlink to d/b.txt", "extra: unexpected", "empty: unexpected dir"} {
		if !strings.Contains(joined, w) {
			t.Errorf("differences lack %q:\n%s", w, joined)
		}
	}
	if d := compareTrees(want, nil, 2); len(d) != 3 || !strings.Contains(d[2], "and 2 more") || !strings.Contains(d[0], "missing") {
		t.Errorf("empty restore: %v", d)
	}
}

func TestParseSettings(t *testing.T) {
	for in, want := range map[string]int64{"1G": 1 << 30, "256M": 256 << 20, "512k": 512 << 10, "1.5GiB": 3 << 29, "300000": 300000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "lots", "1K"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	tools, err := parseTools("restic, scn-s3,ceiling")
	if err != nil || strings.Join(tools, ",") != "ceiling,scn-s3,restic" {
		t.Errorf("parseTools: %v, %v", tools, err)
	}
	if _, err := parseTools("scn,rsync"); err == nil || !strings.Contains(err.Error(), `"scn"`) {
		t.Errorf("unknown tool: %v", err)
	}
	env := map[string]string{"BENCH_SIZE": "64M", "BENCH_RUNS": "3", "BENCH_TOOLS": "scn-dir", "BENCH_AWS": "/opt/aws"}
	cfg, err := configFromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.Size != 64<<20 || cfg.Runs != 3 || len(cfg.Tools) != 1 || cfg.AWS != "/opt/aws" || cfg.Restic != "restic" {
		t.Errorf("configFromEnv: %+v, %v", cfg, err)
	}
	env["BENCH_SCN_ENV"] = "GOGC=50  GOMEMLIMIT=128MiB"
	if cfg, err = configFromEnv(func(k string) string { return env[k] }); err != nil || strings.Join(cfg.ScnEnv, "|") != "GOGC=50|GOMEMLIMIT=128MiB" {
		t.Errorf("BENCH_SCN_ENV: %q, %v", cfg.ScnEnv, err)
	}
	env["BENCH_SCN_ENV"] = "GOGC"
	if _, err := configFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("BENCH_SCN_ENV=GOGC accepted")
	}
	env["BENCH_SCN_ENV"] = ""
	env["BENCH_RUNS"] = "0"
	if _, err := configFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("BENCH_RUNS=0 accepted")
	}
}
