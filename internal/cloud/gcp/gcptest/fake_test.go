package gcptest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
)

// jwtFor signs a JWT-bearer assertion with the credentials file's key, as
// Google's auth libraries do; tamper edits the claims after signing.
func jwtFor(t *testing.T, credsFile string, claims map[string]any, tamper func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ PrivateKey, ClientEmail, PrivateKeyID string }
	var raw map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	f.PrivateKey, f.ClientEmail, f.PrivateKeyID = raw["private_key"], raw["client_email"], raw["private_key_id"]
	block, _ := pem.Decode([]byte(f.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	claims["iss"] = f.ClientEmail
	enc := func(v any) string {
		j, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(j)
	}
	signing := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": f.PrivateKeyID}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(claims)
		signing = signing[:strings.Index(signing, ".")] + "." + enc(claims)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func post(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, res)
}

func decode(t *testing.T, res *http.Response) (int, map[string]any) {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: body is not JSON: %q", res.Request.URL, b)
	}
	return res.StatusCode, m
}

func call(t *testing.T, method, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, res)
}

func TestTokenEndpointChecksTheAssertion(t *testing.T) {
	f := gcptest.New(t)
	creds := f.WriteCredentials(t)
	now := time.Now().Unix()
	claims := func() map[string]any {
		return map[string]any{"aud": f.TokenURL(), "scope": "https://www.googleapis.com/auth/compute", "iat": now, "exp": now + 3600}
	}
	grant := func(jwt string) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwt}}
	}
	for name, jwt := range map[string]string{
		"tampered scope": jwtFor(t, creds, claims(), func(c map[string]any) { c["scope"] = "https://www.googleapis.com/auth/cloud-platform.read-only" }),
		"wrong audience": jwtFor(t, creds, map[string]any{"aud": "https://oauth2.googleapis.com/token", "scope": "https://www.googleapis.com/auth/compute", "iat": now, "exp": now + 3600}, nil),
		"expired":        jwtFor(t, creds, map[string]any{"aud": f.TokenURL(), "scope": "https://www.googleapis.com/auth/compute", "iat": now - 7200, "exp": now - 3600}, nil),
		"no signature":   strings.Join(strings.Split(jwtFor(t, creds, claims(), nil), ".")[:2], ".") + ".",
	} {
		code, body := post(t, f.TokenURL(), grant(jwt))
		if code != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%s: token endpoint answered %d %v, want 400 invalid_grant", name, code, body)
		}
	}
	if code, body := post(t, f.TokenURL(), url.Values{"grant_type": {"client_credentials"}}); code != 400 || body["error"] != "unsupported_grant_type" {
		t.Errorf("client_credentials grant: %d %v", code, body)
	}

	code, body := post(t, f.TokenURL(), grant(jwtFor(t, creds, claims(), nil)))
	token, _ := body["access_token"].(string)
	if code != 200 || token == "" || body["token_type"] != "Bearer" {
		t.Fatalf("valid assertion: %d %v", code, body)
	}

	// Compute calls need that token, and errors come as Google's JSON.
	vmURL := f.Endpoint() + "projects/scn-test/zones/us-central1-a/instances/nope"
	code, body = call(t, "GET", vmURL, "", "")
	if e, _ := body["error"].(map[string]any); code != 401 || e["code"] != 401.0 {
		t.Errorf("no token: %d %v, want Google's 401 JSON", code, body)
	}
	code, body = call(t, "GET", vmURL, "ya29.made-up", "")
	if code != 401 {
		t.Errorf("unknown token: %d %v", code, body)
	}
	code, body = call(t, "GET", vmURL, token, "")
	want := map[string]any{"error": map[string]any{
		"code":    404.0,
		"message": "The resource 'projects/scn-test/zones/us-central1-a/instances/nope' was not found",
		"errors": []any{map[string]any{
			"message": "The resource 'projects/scn-test/zones/us-central1-a/instances/nope' was not found",
			"domain":  "global", "reason": "notFound",
		}},
	}}
	if got, _ := json.Marshal(body); code != 404 || string(got) != mustJSON(want) {
		t.Errorf("unknown VM: %d %s, want 404 %s", code, got, mustJSON(want))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOperationsAndStatusAdvanceOnePollAtATime(t *testing.T) {
	f := gcptest.New(t)
	creds := f.WriteCredentials(t)
	now := time.Now().Unix()
	_, tok := post(t, f.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {jwtFor(t, creds, map[string]any{"aud": f.TokenURL(), "scope": "https://www.googleapis.com/auth/compute", "iat": now, "exp": now + 60}, nil)}})
	token := tok["access_token"].(string)
	zone := f.Endpoint() + "projects/scn-test/zones/us-central1-a/"
	body := `{"name":"vm-1","machineType":"zones/us-central1-a/machineTypes/e2-medium",
		"disks":[{"boot":true,"autoDelete":true,"initializeParams":{"sourceImage":"projects/debian-cloud/global/images/family/debian-12"}}],
		"networkInterfaces":[{"accessConfigs":[{"type":"ONE_TO_ONE_NAT"}]}],
		"scheduling":{"provisioningModel":"SPOT","instanceTerminationAction":"STOP"}}`
	code, op := call(t, "POST", zone+"instances", token, body)
	if code != 200 || op["status"] != "PENDING" || op["kind"] != "compute#operation" {
		t.Fatalf("insert: %d %v", code, op)
	}
	// Accepted, not started: the VM is not there yet (the 404 lets time pass).
	if code, _ := call(t, "GET", zone+"instances/vm-1", token, ""); code != 404 {
		t.Fatalf("GET of a VM whose insert is PENDING: %d, want 404", code)
	}
	if _, vm := call(t, "GET", zone+"instances/vm-1", token, ""); vm["status"] != "PROVISIONING" {
		t.Fatalf("VM status %v once its insert started, want PROVISIONING", vm["status"])
	}
	name := op["name"].(string)
	for _, want := range []string{"DONE", "DONE"} {
		if _, op = call(t, "POST", zone+"operations/"+name+"/wait", token, ""); op["status"] != want {
			t.Fatalf("operation status %v, want %s", op["status"], want)
		}
	}
	if code, _ := call(t, "POST", zone+"instances", token, body); code != 409 {
		t.Errorf("second insert of vm-1: %d, want 409 alreadyExists", code)
	}
	for _, want := range []string{"STAGING", "RUNNING"} {
		if _, vm := call(t, "GET", zone+"instances/vm-1", token, ""); vm["status"] != want {
			t.Fatalf("VM status %v, want %s", vm["status"], want)
		}
	}
	// Preempted with instanceTerminationAction STOP: stays, TERMINATED.
	f.Preempt("vm-1")
	for _, want := range []string{"STOPPING", "TERMINATED", "TERMINATED"} {
		if _, vm := call(t, "GET", zone+"instances/vm-1", token, ""); vm["status"] != want {
			t.Fatalf("preempted VM status %v, want %s", vm["status"], want)
		}
	}
	if alive := f.Alive(); len(alive) != 1 {
		t.Fatalf("alive = %v: a stopped VM still exists", alive)
	}
	code, op = call(t, "DELETE", zone+"instances/vm-1", token, "")
	if code != 200 {
		t.Fatalf("delete: %d %v", code, op)
	}
	for range 2 {
		call(t, "GET", zone+"operations/"+op["name"].(string), token, "")
	}
	if alive := f.Alive(); len(alive) != 0 {
		t.Fatalf("alive after delete = %v", alive)
	}
	if code, body := call(t, "GET", zone+"instances?filter=name%3Dvm-1", token, ""); code != 400 {
		t.Errorf("unsupported filter: %d %v, want 400", code, body)
	}
}
