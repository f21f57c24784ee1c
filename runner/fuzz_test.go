package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/runner"
)

// FuzzLoadCheck feeds arbitrary bytes to the loader and checker: they may
// reject anything, but must never panic, and every problem they report
// must carry a position.
func FuzzLoadCheck(f *testing.F) {
	for _, glob := range []string{"testdata/bad/*.yaml", "testdata/pass/*.yaml", "../scenarios/*.yaml", "../scenarios/examples/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("name: x\nsteps:\n  - assert: \"1 == 1\"\n"))
	reg := registry(&world{})
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := runner.Load("fuzz.yaml", data)
		if sc != nil {
			_, cerr := runner.Check(sc, reg)
			err = runner.Merge(err, cerr)
		}
		if ds, ok := err.(runner.Diagnostics); ok {
			for _, d := range ds {
				if d.Pos.File == "" || d.Msg == "" {
					t.Fatalf("diagnostic without position or message: %+v", d)
				}
			}
		}
	})
}

// FuzzExpression puts arbitrary text in an assert step and, when it
// checks, runs it: compile errors are fine, panics are not, and a failed
// assertion must explain itself without panicking either.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{"1 == 1", "vars.n > 2 && len(vars.l) == 3", "steps.c.n == vars.n", "all(vars.l, # > 0)",
		"vars.m.k ?? 'x'", "let x = vars.n; x * 2 > 5", "vars.l[5] == 1", "'a' + vars.s matches '^a'", "1 / 0 > 1"} {
		f.Add(s)
	}
	reg := registry(&world{})
	f.Fuzz(func(t *testing.T, e string) {
		if strings.ContainsAny(e, "\n\r\"\\") || len(e) > 200 {
			return // keeps the YAML around it valid; the loader fuzz covers the rest
		}
		src := "name: f\nvars: { n: 3, l: [1, 2, 3], m: { k: v }, s: b }\nsteps:\n  - id: c\n    action: test.counter\n  - assert: \"" + e + "\"\n"
		sc, err := runner.Load("f.yaml", []byte(src))
		if err != nil {
			return
		}
		c, err := runner.Check(sc, reg)
		if err != nil {
			return
		}
		r, err := runner.New(c, runner.Options{})
		if err != nil {
			return
		}
		j := r.Run(context.Background())
		if j.Status == "error" {
			t.Fatalf("internal error evaluating %q: %s", e, j.Error)
		}
	})
}
