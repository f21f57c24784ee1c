package evidence

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

// keygen makes an ed25519 key pair with the real ssh-keygen (passphrase
// "" for none) and an allowed_signers file naming it for principal.
func keygen(t *testing.T, passphrase, principal string) (key, allowed string) {
	t.Helper()
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatal("ssh-keygen is not installed: the bundle's signature check needs it (Debian: apt-get install openssh-client; scripts/deps does)")
	}
	dir := t.TempDir()
	key = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command(bin, "-q", "-t", "ed25519", "-N", passphrase, "-C", principal, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowed = filepath.Join(dir, "allowed_signers")
	line := principal + ` namespaces="scn-evidence" ` + string(pub)
	if err := os.WriteFile(allowed, []byte("# auditors' keys\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, allowed
}

// runDir is a finished run's directory with its evidence kept.
func runDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := journal.Write(filepath.Join(dir, "journal.json"), fixture.Passing()); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"metrics.json": "{}\n", "report.html": "<html></html>\n",
		"evidence/scenario/realtime-sync.yaml": "name: realtime-sync\n", "evidence/manifests/snap-1.json": `{"entries":[]}`,
		"evidence/files/files.json": `[{"path":"/workspace/a","md5":"0cc175b9c0f1b6a831c399e269772661"}]`} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The bundle's signature is checked by OpenSSH itself, its sums by
// sha256sum, and both by Verify.
func TestSignedBundleVerifiesWithSSHKeygen(t *testing.T) {
	key, allowed := keygen(t, "correct horse", "auditor@example.com")
	signer, err := LoadSigner(key, func() ([]byte, error) { return []byte("correct horse"), nil })
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "evidence.tar.gz")
	names, err := Pack(runDir(t), bundle, signer)
	if err != nil {
		t.Fatal(err)
	}
	want := "evidence/files/files.json evidence/manifests/snap-1.json evidence/scenario/realtime-sync.yaml journal.json junit.xml metrics.json report.html SHA256SUMS SHA256SUMS.sig"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("packed %s\nwant   %s", got, want)
	}
	out := t.TempDir()
	if b, err := exec.Command("tar", "-xzf", bundle, "-C", out).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	dir := filepath.Join(out, fixture.Passing().RunID)
	check := exec.Command("sha256sum", "-c", "--strict", SumsFile)
	check.Dir = dir
	if b, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, b)
	}
	verify := func(identity string) ([]byte, error) {
		c := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", identity, "-n", Namespace, "-s", filepath.Join(dir, SigFile))
		c.Stdin = bytes.NewReader(mustRead(t, filepath.Join(dir, SumsFile)))
		return c.CombinedOutput()
	}
	if b, err := verify("auditor@example.com"); err != nil {
		t.Fatalf("ssh-keygen -Y verify rejects the signature: %v\n%s", err, b)
	}
	if b, err := verify("mallory@example.com"); err == nil {
		t.Fatalf("ssh-keygen accepted another identity:\n%s", b)
	}
	v, err := Verify(bytes.NewReader(mustRead(t, bundle)), strings.NewReader(string(mustRead(t, allowed))), "")
	if err != nil || !v.Signed || v.Files != 7 || strings.Join(v.Signer, ",") != "auditor@example.com" {
		t.Fatalf("Verify: %+v, %v", v, err)
	}
}

func TestVerifyRefusesTamperedAndUnsignedBundles(t *testing.T) {
	key, allowed := keygen(t, "", "auditor@example.com")
	_, otherAllowed := keygen(t, "", "someone@example.com")
	signer, err := LoadSigner(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := runDir(t)
	signed, unsigned := filepath.Join(t.TempDir(), "s.tar.gz"), filepath.Join(t.TempDir(), "u.tar.gz")
	if _, err := Pack(run, signed, signer); err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(run, unsigned, nil); err != nil {
		t.Fatal(err)
	}
	// A changed file: repack by hand with the old sums.
	dir, files, err := readBundle(bytes.NewReader(mustRead(t, signed)))
	if err != nil {
		t.Fatal(err)
	}
	files["journal.json"] = append(files["journal.json"], ' ')
	var tampered bytes.Buffer
	var names []string
	for n := range files {
		names = append(names, n)
	}
	if err := writeTarGz(&tampered, dir, fixture.Passing().EndedAt, names, files); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, bundle string
		data         []byte
		allowed      string
		identity     string
		want         string
	}{
		{"changed file", "", tampered.Bytes(), allowed, "", "journal.json does not match SHA256SUMS"},
		{"unsigned", unsigned, nil, allowed, "", "the bundle is not signed"},
		{"another key", signed, nil, otherAllowed, "", "which the allowed signers do not list for any principal"},
		{"another identity", signed, nil, allowed, "mallory@example.com", "do not list for mallory@example.com"},
	} {
		data := c.data
		if c.bundle != "" {
			data = mustRead(t, c.bundle)
		}
		_, err := Verify(bytes.NewReader(data), strings.NewReader(string(mustRead(t, c.allowed))), c.identity)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if v, err := Verify(bytes.NewReader(mustRead(t, unsigned)), nil, ""); err != nil || v.Signed {
		t.Errorf("an unsigned bundle's sums alone: %+v %v", v, err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
