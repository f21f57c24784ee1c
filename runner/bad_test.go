package runner_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scnlabs/scn/runner"
)

var wantLine = regexp.MustCompile(`^# want: (\d+:\d+) (.*)$`)

var update = flag.Bool("update", false, "rewrite testdata/bad.golden from the current output")

// checkFile loads and checks a scenario with the test registry, returning
// every problem as one error.
func checkFile(f string) error {
	s, err := runner.LoadFile(f)
	if s != nil {
		_, cerr := runner.Check(s, registry(&world{}))
		err = runner.Merge(err, cerr)
	}
	return err
}

// The whole text a user reads for each bad scenario — message and hint —
// is pinned in testdata/bad.golden (go test -update rewrites it), so a
// changed message or a lost hint shows in review.
func TestBadScenarioMessages(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "== %s\n%v\n\n", filepath.Base(f), checkFile(f))
	}
	path := filepath.Join("testdata", "bad.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("messages differ from %s (go test -update rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var out []string
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

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
			err = checkFile(f)
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
