package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scnCmd runs the scn command line in-process and returns its stdout and
// error (an *exitError for a refused command).
func scnCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// scn actions FAMILY lists the family; a near miss names the family or
// action meant.
func TestActionsListsAFamily(t *testing.T) {
	out, err := scnCmd(t, "actions", "snapshot")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"snapshot.create", "snapshot.delete", "snapshot.list", "snapshot.restore", "scn actions snapshot.create shows"} {
		if !strings.Contains(out, want) {
			t.Errorf("scn actions snapshot lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "files.create") || strings.Contains(out, "standby.") {
		t.Errorf("scn actions snapshot lists other families:\n%s", out)
	}
	for arg, hint := range map[string]string{"snapsho": `did you mean "snapshot"?`, "instance.craete": `did you mean "instance.create"?`} {
		_, err := scnCmd(t, "actions", arg)
		var ex *exitError
		if !errors.As(err, &ex) || ex.code != 2 || !strings.Contains(ex.msg, hint) {
			t.Errorf("scn actions %s: %v; want exit 2 with %s", arg, err, hint)
		}
	}
}

// scn plan --markdown writes the plan with what the drill proves, as
// Markdown for a pull-request comment.
func TestPlanMarkdown(t *testing.T) {
	out, err := scnCmd(t, "plan", "--markdown", "--state-dir", t.TempDir(), "../../scenarios/realtime-sync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Plan: realtime-sync", "Worst-case cost: **$", "| # | step | action | what | notes |",
		"**What this drill proves**", "expect: `valid == vars.file_count`", "**Resources**"} {
		if !strings.Contains(out, want) {
			t.Errorf("scn plan --markdown lacks %q:\n%s", want, out)
		}
	}
}

// scn plan --var checks the values as scn run would, and masks a secret
// var in what it says, as scn run does.
func TestPlanWithVarsMasksSecrets(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	src := "name: c\nvars: { token: { secret: true, default: \"\" }, attempts: { default: \"${{ int(vars.token) }}\" } }\nsteps: [ { action: log, with: { message: x } } ]\n"
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := scnCmd(t, "plan", "--state-dir", t.TempDir(), f, "--var", "token=MY-CLI-SECRET-777")
	if err == nil || strings.Contains(err.Error()+out, "MY-CLI-SECRET-777") || !strings.Contains(err.Error(), "int(***)") {
		t.Fatalf("scn plan = %v\n%s\nwant the bad default refused, the secret shown as ***", err, out)
	}
}
