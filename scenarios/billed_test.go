package scenarios_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/store/s3test"
)

// killedMidMultipart snapshots 40 MB over a 4 MiB/s link: more than one
// 16 MiB part, so the store sees a multipart upload for seconds before it
// could complete.
var killedMidMultipart = fillThenSnapshot("killed-mid-multipart", 40000000)

// SIGKILL to scn while a snapshot's multipart upload is open on a
// versioned S3 store (B2 keeps versions, and bills the parts of an upload
// until it is aborted): nothing can abort it then, so `scn cleanup` finds
// it under the snapshot's key and aborts it, and the bucket holds nothing
// of the snapshot afterwards: no upload, no object version, no delete
// marker.
func TestKilledMidUploadThenCleanupLeavesNothingBilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bin/scn")
	}
	bin := scnBinary(t)
	srv := s3test.StartServer(t, s3test.Options{})
	dir := t.TempDir()
	state := filepath.Join(dir, ".scn")
	writeFile(t, filepath.Join(dir, "scn.yaml"), "targets:\n  local:\n    kind: local\n    faults: { link_bytes_per_sec: 4194304 }\n"+
		"    store: { kind: s3, endpoint: "+srv.Endpoint+", bucket: "+srv.Bucket+", region: us-east-1, access_key_env: K, secret_key_env: S }\n")
	writeFile(t, filepath.Join(dir, "drill.yaml"), killedMidMultipart)
	ca := filepath.Join(dir, "s3test.pem")
	writeFile(t, ca, string(srv.CertPEM))
	cmd := exec.Command(bin, "run", "drill.yaml")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "SCN_HOME="+state, "SSL_CERT_FILE="+ca, "K="+s3test.AccessKeyID, "S="+s3test.SecretAccessKey)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	uploading := func() bool {
		for _, l := range srv.Leftovers(t, "snapshots/") {
			if strings.HasPrefix(l, "upload ") {
				return true
			}
		}
		return false
	}
	poll(t, "a multipart upload of the snapshot", 2*time.Minute, uploading)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if !uploading() {
		t.Fatalf("the upload was not open when scn died: the test proves nothing\n%s", &out)
	}

	clean := exec.Command(bin, "cleanup")
	clean.Dir = dir
	clean.Env = cmd.Env
	b, err := clean.CombinedOutput()
	if err != nil || !strings.Contains(string(b), ": found by label scn-") || !strings.Contains(string(b), "destroyed") {
		t.Fatalf("scn cleanup: %v\n%s", err, b)
	}
	if left := srv.Leftovers(t, "snapshots/"); len(left) != 0 {
		t.Errorf("after scn cleanup the bucket still holds %q\n%s", left, b)
	}
	if _, left := openLeftovers(t, state); len(left) != 0 {
		t.Errorf("scn cleanup left ledger entries %+v", left)
	}
}
