package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scn validate --format github turns every diagnostic into a workflow
// command GitHub shows on the diff: file, line and column, the hint on a
// second line, and the message escaped so a newline, % or a comma in it
// cannot end or forge the command.
func TestValidateGitHubAnnotations(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("bad.yaml", []byte("name: bad\nsteps:\n  - action: files.craete\n    with: { on: x }\n  - assert: 1 +\n"), 0o644)
	os.WriteFile("good.yaml", []byte("name: good\nsteps:\n  - action: log\n    with: { message: hi }\n"), 0o644)
	out, err := scnCmd(t, "validate", "--format", "github", "good.yaml", "bad.yaml", "missing,%.yaml")
	var ex *exitError
	if !errors.As(err, &ex) || ex.code != 2 {
		t.Fatalf("exit: %v, want 2", err)
	}
	want := []string{
		`::error file=bad.yaml,line=3,col=13,title=scn validate::unknown action "files.craete"%0Ahint: did you mean "files.create"?`,
		`::error file=bad.yaml,line=5,col=15,title=scn validate::in expression "1 +": unexpected token EOF`,
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, at(lines, i), w)
		}
	}
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "::error file=missing%2C%25.yaml,title=scn validate::") {
		t.Errorf("an unreadable file with , and %% in its name: %q", at(lines, 2))
	}

	if _, err := scnCmd(t, "validate", "--format", "xml", filepath.Join(dir, "good.yaml")); !errors.As(err, &ex) || ex.code != 2 {
		t.Errorf("--format xml: %v, want exit 2", err)
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}
