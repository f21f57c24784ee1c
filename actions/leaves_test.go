package actions_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Action families are leaves: a package under actions/ may import the
// actions package (the registry, Env, params types) and internal/, never
// another family — what two families share lives in internal/ (rent,
// md5check, standby). Only actions/builtin, the one map of every action,
// imports them all. Test files may (the failover drill runs the standby
// and files actions).
//
// The imports are read with go/build, as `go list` does, but in this
// process: go test caches a result by the files the test opened, so a new
// import in a family re-runs this test instead of replaying a pass.
func TestFamiliesAreLeaves(t *testing.T) {
	const prefix = "github.com/scnlabs/scn/actions/"
	checked := 0
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || dir == "." {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(dir, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		checked++
		if dir == "builtin" {
			return nil
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, prefix) {
				t.Errorf("actions/%s imports %s: families are leaves; move what they share to internal/", filepath.ToSlash(dir), imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d packages found under actions/: is the test running in its folder?", checked)
	}
}
