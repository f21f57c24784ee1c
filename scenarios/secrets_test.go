package scenarios_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/store/s3test"
)

// leakyDrill tries every way a secret could reach what scn prints or
// writes: secret vars (one from the environment, one from --var) and the
// target's store key, in a machine's env, in command output (plain, base64,
// stderr, live log), in a log message, in a failed expectation, an assertion
// and an error message, and in a finally step.
const leakyDrill = `name: leaky
description: Puts its secrets everywhere scn prints or writes.
vars:
  token: { secret: true, default: "${{ env.SCN_TEST_TOKEN }}" }
  pin: { secret: true, default: "" }
timeout: 2m
steps:
  - id: gpu
    action: instance.create
    with: { gpu: RTX_4090, env: { API_TOKEN: "${{ vars.token }}" } }
  - id: echo
    action: ssh.exec
    with:
      on: "${{ steps.gpu }}"
      env: { TOKEN: "${{ vars.token }}", PIN: "${{ vars.pin }}", S3_SECRET: "${{ env.SCN_TEST_S3_SECRET }}" }
      log: true
      command: |
        echo "machine env: token=$API_TOKEN"
        echo "echoed: token=$TOKEN pin=$PIN s3=$S3_SECRET"
        printf %s "$TOKEN" | base64
        printf %s "$S3_SECRET" | base64
        echo "on stderr: token=$TOKEN" >&2
  - action: log
    with: { message: "logged: token=${{ vars.token }} pin=${{ vars.pin }} s3=${{ env.SCN_TEST_S3_SECRET }} id=${{ env.SCN_TEST_S3_KEY_ID }}" }
  - id: files
    action: files.create
    with: { on: "${{ steps.gpu }}", count: 2 }
  - id: snap
    action: snapshot.create
    with: { on: "${{ steps.gpu }}" }
  - id: expect
    action: ssh.exec
    with: { on: "${{ steps.gpu }}", command: 'printf %s "$TOKEN"', env: { TOKEN: "${{ vars.token }}" } }
    expect: [ "stdout == vars.pin" ]
    continue_on_error: true
  - assert: vars.token == vars.pin
    continue_on_error: true
  - id: fail
    action: ssh.exec
    with:
      on: "${{ steps.gpu }}"
      env: { TOKEN: "${{ vars.token }}", PIN: "${{ vars.pin }}" }
      command: 'echo "cannot log in with $TOKEN and $PIN" >&2; exit 3'
finally:
  - action: log
    with: { message: "finally: ${{ run.status }} with token=${{ vars.token }}" }
`

// TestSecretsNeverLeak runs leakyDrill with the real scn binary, every
// report asked for, and a store whose key is a target secret, then reads
// every file the run left and its console: no secret may be there, in
// clear or base64, and *** must stand where each one was.
func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bin/scn")
	}
	bin := scnBinary(t)
	s3 := s3test.StartServer(t, s3test.Options{})
	dir := t.TempDir()
	token, pin := "tok-"+randomHex(t, 16), "pin-"+randomHex(t, 6)
	secrets := map[string]string{"token var": token, "pin var": pin,
		"store secret key": s3test.SecretAccessKey, "store key id": s3test.AccessKeyID}

	config := "targets:\n  local:\n    store: { kind: s3, endpoint: " + s3.Endpoint + ", bucket: " + s3.Bucket +
		", region: us-east-1, access_key_env: SCN_TEST_S3_KEY_ID, secret_key_env: SCN_TEST_S3_SECRET }\n"
	writeFile(t, filepath.Join(dir, "scn.yaml"), config)
	writeFile(t, filepath.Join(dir, "leaky.yaml"), leakyDrill)
	out := filepath.Join(dir, "reports")
	summary := filepath.Join(dir, "step-summary.md")

	cmd := exec.Command(bin, "run", "leaky.yaml", "--var", "pin="+pin, "--verbose",
		"--junit", filepath.Join(out, "junit.xml"), "--json", filepath.Join(out, "run.json"), "--html", filepath.Join(out, "report.html"))
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "SCN_HOME="+filepath.Join(dir, ".scn"), "GITHUB_STEP_SUMMARY="+summary,
		"SSL_CERT_FILE="+serverCertFile(t, s3.Endpoint), "SCN_TEST_TOKEN="+token,
		"SCN_TEST_S3_KEY_ID="+s3test.AccessKeyID, "SCN_TEST_S3_SECRET="+s3test.SecretAccessKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("scn run: %v, want exit 1 (the drill fails on purpose)\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}

	written := map[string][]byte{"console (stdout)": stdout.Bytes(), "console (stderr)": stderr.Bytes()}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		written[path] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range secrets {
		for _, form := range leakForms(value) {
			for file, data := range written {
				if bytes.Contains(data, []byte(form)) {
					t.Errorf("the %s leaked into %s as %q", name, file, form)
				}
			}
		}
	}

	// Each secret reached the places it was sent to, and was masked there.
	runs, _ := filepath.Glob(filepath.Join(dir, ".scn", "runs", "*", "journal.json"))
	if len(runs) != 1 {
		t.Fatalf("want one run directory with a journal, got %v", runs)
	}
	runDir := filepath.Dir(runs[0])
	console := stdout.String() + stderr.String()
	for file, want := range map[string][]string{
		"console":                                  {"echoed: token=*** pin=*** s3=***", "logged: token=*** pin=*** s3=*** id=***", "cannot log in with *** and ***"},
		filepath.Join(runDir, "journal.json"):      {"echoed: token=*** pin=*** s3=***", "machine env: token=***", "cannot log in with *** and ***", "finally: failed with token=***"},
		filepath.Join(runDir, "metrics.json"):      {},
		filepath.Join(runDir, "report.html"):       {"***"},
		filepath.Join(out, "junit.xml"):            {"cannot log in with *** and ***"},
		filepath.Join(out, "run.json"):             {"echoed: token=*** pin=*** s3=***", "logged: token=*** pin=*** s3=*** id=***"},
		filepath.Join(out, "report.html"):          {"***"},
		filepath.Join(dir, "step-summary.md"):      {"cannot log in with *** and ***"},
		filepath.Join(dir, ".scn", "ledger.jsonl"): {},
	} {
		text, ok := string(written[file]), written[file] != nil
		if file == "console" {
			text, ok = console, true
		}
		if !ok {
			t.Errorf("%s was not written", file)
			continue
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s does not show %q", file, w)
			}
		}
	}
	assertBinaryLeftNothing(t, filepath.Join(dir, ".scn"), s3)
}

// leakForms are the forms in which value must not appear: as is, and in
// base64 (standard, unpadded, URL) and URL escaping.
func leakForms(value string) []string {
	b := []byte(value)
	return []string{value, base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), url.QueryEscape(value)}
}

// assertBinaryLeftNothing checks the scn process left no sandbox, no open
// ledger entry and no snapshot in the bucket.
func assertBinaryLeftNothing(t *testing.T, state string, s3 *s3test.Server) {
	t.Helper()
	ctx := context.Background()
	insts, err := local.New(local.Options{StateDir: state}).List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range insts {
		t.Errorf("sandbox %s (%s) left behind", i.ID, i.Status)
	}
	_, left := openLeftovers(t, state)
	for _, r := range left {
		t.Errorf("ledger entry still open: %s %s %s", r.Kind, r.ID, r.State)
	}
	st, err := s3store.New(ctx, s3store.Config{Endpoint: s3.Endpoint, Region: "us-east-1", Bucket: s3.Bucket,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey, HTTPClient: s3.Client})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		t.Errorf("object %s left in the bucket", o.Key)
	}
}

// serverCertFile saves the certificate the HTTPS server at endpoint
// presents, for SSL_CERT_FILE: the scn process then trusts that server.
func serverCertFile(t *testing.T, endpoint string) string {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// Only to read the certificate; every request scn makes verifies it.
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cert := conn.ConnectionState().PeerCertificates[0]
	path := filepath.Join(t.TempDir(), "s3test.pem")
	writeFile(t, path, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	return path
}

// cleanEnv is this process's environment without what would change how
// scn runs (its state dir, CI summaries, colours, credentials).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "SCN_"), strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "VAST_"),
			strings.HasPrefix(k, "B2_"), strings.HasPrefix(k, "SSL_CERT"), k == "NO_COLOR":
		default:
			env = append(env, kv)
		}
	}
	return env
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
