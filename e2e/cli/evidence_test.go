package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Drills as evidence through the CLI: objectives, negative controls.

func TestObjectivesThroughTheCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	met := e.write("met.yaml", "name: met\nsteps:\n  - id: a\n    action: log\n    with: { message: hi }\nreport:\n  phases: { say: [a] }\nobjectives:\n  quick: \"phases.say < 60\"\n  free: \"cost_usd == 0\"\n")
	missed := e.write("missed.yaml", strings.Replace(string(mustRead(t, met)), "cost_usd == 0", "cost_usd > 1", 1))
	typo := e.write("typo.yaml", strings.Replace(string(mustRead(t, met)), "phases.say", "phases.sya", 1))
	r := e.scn("run", met)
	if r.code != 0 || !strings.Contains(r.stdout, "Objectives (2/2 met)") || !strings.Contains(r.stdout, "✓ quick met: phases.say = ") {
		t.Errorf("met: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.scn("run", missed)
	if r.code != 1 || !strings.Contains(r.stdout, "objective free missed: cost_usd = 0\n") {
		t.Errorf("missed: exit %d, want 1 naming the objective and its value\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.scn("validate", typo)
	if r.code != 2 || !strings.Contains(r.stderr, `unknown phase "sya" in objective "phases.sya < 60"`) {
		t.Errorf("typo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestNegativeControlAllThroughTheCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	drill := shippedDrill(t, "realtime-sync.yaml")
	junit := filepath.Join(e.dir, "junit.xml")
	r := e.scn("run", drill, "--negative-control", "all", "--junit", junit)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0: every kind detected\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(string(mustRead(t, junit)), "<testsuite "); n != 3 {
		t.Errorf("--junit covers %d runs, want one per kind (3)", n)
	}
	for _, want := range []string{"corrupt-file  DETECTED  detected at step verify", "delete-file  DETECTED  detected at step verify",
		"truncate-snapshot  DETECTED  detected at step restore", "3 of 3 kinds detected"} {
		if !strings.Contains(strings.Join(strings.Fields(r.stdout), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("the table lacks %q:\n%s", want, r.stdout)
		}
	}
	r = e.scn("run", drill, "--negative-control", "stale-standby")
	if r.code != 2 || !strings.Contains(r.stderr, "negative control stale-standby cannot apply to") {
		t.Errorf("inapplicable kind: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.scn("run", drill, "--negative-control", "flip-bits")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown negative control "flip-bits"`) {
		t.Errorf("unknown kind: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.assertLedgerClosed()
}

// shippedDrill is the absolute path of a drill of scenarios/: scn runs in
// the test's own directory.
func shippedDrill(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "scenarios", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A drill's evidence bundle, signed with an encrypted key whose passphrase
// comes from SCN_SIGN_PASSPHRASE, is accepted by OpenSSH's own
// `ssh-keygen -Y verify` and by `scn report --verify-bundle`, and holds
// what the run kept: the scenario, the snapshot manifest, the file lists.
func TestEvidenceBundleThroughTheCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	drill := shippedDrill(t, "realtime-sync.yaml")
	if r := e.scn("run", drill); r.code != 0 {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	runs, err := os.ReadDir(filepath.Join(e.state, "runs"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	run := runs[0].Name()
	key := filepath.Join(e.dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret pass", "-C", "oncall@example.com", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen (openssh-client; scripts/deps installs it): %v\n%s", err, out)
	}
	pub := mustRead(t, key+".pub")
	allowed := e.write("allowed_signers", "oncall@example.com "+string(pub))

	bundle := filepath.Join(e.dir, "evidence.tar.gz")
	if r := e.scn("report", run, "--bundle", bundle, "--sign", key); r.code != 2 || !strings.Contains(r.stderr, "SCN_SIGN_PASSPHRASE") {
		t.Errorf("an encrypted key without a terminal or SCN_SIGN_PASSPHRASE: exit %d\n%s", r.code, r.stderr)
	}
	e.extra = append(e.extra, "SCN_SIGN_PASSPHRASE=s3cret pass")
	if r := e.scn("report", run, "--bundle", bundle, "--sign", key); r.code != 0 || !strings.Contains(r.stdout, "signed (scn-evidence)") {
		t.Fatalf("bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := t.TempDir()
	if b, err := exec.Command("tar", "-xzf", bundle, "-C", out).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	dir := filepath.Join(out, run)
	for _, want := range []string{"journal.json", "metrics.json", "report.html", "junit.xml", "evidence/scenario/realtime-sync.yaml",
		"evidence/files/files.json", "evidence/files/verify.verify.json", "SHA256SUMS", "SHA256SUMS.sig"} {
		if !fileExists(filepath.Join(dir, want)) {
			t.Errorf("the bundle lacks %s", want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "evidence", "manifests", "realtime-sync-*.json")); len(m) != 1 {
		t.Errorf("the bundle keeps the deleted snapshot's manifest: %v", m)
	}
	verify := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "oncall@example.com", "-n", "scn-evidence", "-s", filepath.Join(dir, "SHA256SUMS.sig"))
	verify.Stdin = strings.NewReader(string(mustRead(t, filepath.Join(dir, "SHA256SUMS"))))
	if b, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify: %v\n%s", err, b)
	}
	r := e.scn("report", "--verify-bundle", bundle, "--allowed-signers", allowed, "--identity", "oncall@example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "signed by oncall@example.com") {
		t.Errorf("--verify-bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := e.scn("report", "--verify-bundle", bundle); r.code != 2 || !strings.Contains(r.stderr, "needs --allowed-signers") {
		t.Errorf("sums alone prove nothing: exit %d\n%s", r.code, r.stderr)
	}
	r = e.scn("report", "--verify-bundle", bundle, "--allowed-signers", allowed, "--identity", "mallory@example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "does NOT verify") {
		t.Errorf("another identity: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
