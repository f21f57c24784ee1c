package main

import (
	"os"
	"strings"
	"testing"
)

// complete asks scn for completions the way the shell scripts of `scn
// completion bash|zsh|fish` do (the hidden __complete command) and returns
// the candidates' values (descriptions cut) and the directive line.
func complete(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	out, err := scnCmd(t, append([]string{"__complete"}, args...)...)
	if err != nil {
		t.Fatalf("__complete %q: %v", args, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, ":") {
			directive = line
			break
		}
		v, _, _ := strings.Cut(line, "\t")
		values = append(values, v)
	}
	return values, directive
}

func has(values []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, v := range values {
			found = found || v == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestDynamicCompletion(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("scn.yaml", []byte("targets:\n  lab:\n    kind: ssh\n    hosts:\n      - { name: gpu1, host: 10.0.0.5, user: root, key: k, workspace: /w, gpu: RTX_4090, role: gpu }\n"), 0o644)
	os.WriteFile("drill.yaml", []byte("name: d\nvars:\n  gpu: RTX_4090\n  file_count: { default: 3, description: how many files }\nsteps:\n  - action: log\n    with: { message: hi }\n"), 0o644)
	const noFiles, noSpaceNoFiles, yamlOnly = ":4", ":6", ":8"

	if v, d := complete(t, "do", ""); !has(v, "instance.create", "files.verify", "log") || d != noFiles {
		t.Errorf("scn do <TAB>: %q %s", v, d)
	}
	if v, d := complete(t, "actions", ""); !has(v, "snapshot", "snapshot.create") || d != noFiles {
		t.Errorf("scn actions <TAB>: %q %s", v, d)
	}
	if v, d := complete(t, "do", "files.verify", "--with", ""); !has(v, "on=", "files=", "from=", "fail=") || has(v, "count=") || d != noSpaceNoFiles {
		t.Errorf("scn do files.verify --with <TAB>: %q %s", v, d)
	}
	if v, _ := complete(t, "do", "files.verify", "--with", "fail="); !has(v, "fail=true", "fail=false") || len(v) != 2 {
		t.Errorf("scn do files.verify --with fail=<TAB>: %q", v)
	}
	if v, _ := complete(t, "do", "instance.destroy", "--with", "reason="); !has(v, "reason=failure") {
		t.Errorf("an enum's values: %q", v)
	}
	if v, d := complete(t, "--target", ""); !has(v, "local", "vast", "ssh", "lab") || d != noFiles {
		t.Errorf("--target <TAB> (lab from scn.yaml): %q %s", v, d)
	}
	if v, d := complete(t, "run", "drill.yaml", "--var", ""); !has(v, "gpu=", "file_count=") || len(v) != 2 || d != noSpaceNoFiles {
		t.Errorf("scn run drill.yaml --var <TAB>: %q %s", v, d)
	}
	if v, d := complete(t, "validate", ""); !has(v, "yaml", "yml") || d != yamlOnly {
		t.Errorf("scn validate <TAB>: %q %s (want YAML files)", v, d)
	}
}
