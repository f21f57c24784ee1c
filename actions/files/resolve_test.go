package files

import (
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		files     []File
		dir, src  string
		want      []string
		wantError string
	}{
		{name: "rel wins", dir: "/workspace",
			files: []File{{Path: "/x/l-a/workspace/a.txt", Rel: "a.txt"}, {Path: "/elsewhere/b.txt", Rel: "sub/b.txt"}},
			want:  []string{"/workspace/a.txt", "/workspace/sub/b.txt"}},
		{name: "seed list: common directory", dir: "/x/l-b/workspace",
			files: []File{{Path: "/workspace/test-file-1.txt"}, {Path: "/workspace/test-file-2.txt"}},
			want:  []string{"/x/l-b/workspace/test-file-1.txt", "/x/l-b/workspace/test-file-2.txt"}},
		{name: "common directory keeps subfolders", dir: "/w",
			files: []File{{Path: "/a/ws/one.txt"}, {Path: "/a/ws/deep/two.txt"}},
			want:  []string{"/w/one.txt", "/w/deep/two.txt"}},
		{name: "one file", dir: "/w", files: []File{{Path: "/a/ws/one.txt"}}, want: []string{"/w/one.txt"}},
		{name: "source_dir", dir: "/w", src: "/a",
			files: []File{{Path: "/a/ws/one.txt"}, {Path: "/a/ws/deep/two.txt"}},
			want:  []string{"/w/ws/one.txt", "/w/ws/deep/two.txt"}},
		{name: "source_dir root", dir: "/w", src: "/", files: []File{{Path: "/a/one.txt"}}, want: []string{"/w/a/one.txt"}},
		{name: "not under source_dir", dir: "/w", src: "/a/ws", files: []File{{Path: "/a/wsx/one.txt"}},
			wantError: "not under source_dir"},
		{name: "relative paths", dir: "/w", files: []File{{Path: "one.txt"}, {Path: "d/two.txt"}},
			want: []string{"/w/one.txt", "/w/d/two.txt"}},
		{name: "mixed absolute and relative", dir: "/w", files: []File{{Path: "/a/one.txt"}, {Path: "two.txt"}},
			want: []string{"/w/a/one.txt", "/w/two.txt"}},
		{name: "nothing to place", dir: "/w", files: []File{{MD5: "x"}}, wantError: "neither path nor rel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.files, tc.dir, tc.src)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
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
