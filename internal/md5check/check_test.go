package md5check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/scnlabs/scn/internal/remote"
)

// files writes n files with distinct content and returns them as wanted.
func files(t *testing.T, n int) []Want {
	dir := t.TempDir()
	var out []Want
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("test-file-%d.txt", i+1))
		data := fmt.Appendf(nil, "Test file #%d\n", i+1)
		must(t, os.WriteFile(p, data, 0o644))
		out = append(out, Want{Path: p, MD5: md5hex(data)})
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
			ws := files(t, 3)
			tc.damage(t, ws[1].Path)
			r, err := Check(context.Background(), remote.Shell{Dir: t.TempDir()}, ws)
			must(t, err)
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

func TestCheckNothing(t *testing.T) {
	if _, err := Check(context.Background(), remote.Shell{Dir: t.TempDir()}, nil); err == nil || err.Error() != "no files to verify" {
		t.Fatalf("err = %v", err)
	}
}

func TestLinesCapValidFiles(t *testing.T) {
	r := &Report{Total: maxValidLines + 3, Valid: maxValidLines + 2, Mismatched: 1}
	for i := range maxValidLines + 2 {
		r.Results = append(r.Results, Result{Path: fmt.Sprintf("/w/%d", i), Status: Valid})
	}
	r.Results = append(r.Results, Result{Path: "/w/bad", Status: Mismatch, Expected: "e", Got: "g"})
	lines := r.Lines()
	if n := strings.Count(strings.Join(lines, "\n"), "✓ Valid"); n != maxValidLines {
		t.Errorf("%d ✓ lines, want %d", n, maxValidLines)
	}
	if !slices.Contains(lines, "✓ … and 2 more valid files") || !slices.Contains(lines, "✗ MD5 mismatch  /w/bad") {
		t.Errorf("lines end with %q", lines[len(lines)-6:])
	}
	if err := r.Err(); err == nil || err.Error() != "1 of 203 files failed verification; MD5 mismatch: /w/bad" {
		t.Errorf("Err() = %v", err)
	}
}
