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
