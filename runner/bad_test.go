package runner_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scnlabs/scn/runner"
)

var wantLine = regexp.MustCompile(`^# want: (\d+:\d+) (.*)$`)

// Every file in testdata/bad lists, in trailing "# want: LINE:COL text"
// comments, exactly the problems the loader and checker must report.
func TestBadScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no bad scenarios")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				if m := wantLine.FindStringSubmatch(sc.Text()); m != nil {
					wants = append(wants, f+":"+m[1]+": "+m[2])
				}
			}
			if len(wants) == 0 {
				t.Fatal("no # want lines")
			}
			s, err := runner.LoadFile(f)
			if s != nil {
				_, cerr := runner.Check(s, registry(&world{}))
				err = runner.Merge(err, cerr)
			}
			ds, ok := err.(runner.Diagnostics)
			if !ok {
				t.Fatalf("want Diagnostics, got %v", err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.Pos.String()+": "+d.Msg)
			}
			for _, w := range wants {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing diagnostic %q", w)
				}
			}
			if len(got) != len(wants) || t.Failed() {
				t.Errorf("got %d diagnostics, want %d:\n%s", len(got), len(wants), strings.Join(got, "\n"))
			}
		})
	}
}
