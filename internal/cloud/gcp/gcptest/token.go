package gcptest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/gcp"
)

const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// WriteCredentials writes a service-account JSON key file, with a freshly
// generated RSA key and token_uri pointing at this fake, into a test temp
// dir and returns its path: what GOOGLE_APPLICATION_CREDENTIALS names.
// The fake only issues tokens to JWTs signed by a key it wrote.
func (s *Server) WriteCredentials(t testing.TB) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("gcptest: generate service-account key: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("gcptest: encode service-account key: %v", err)
	}
	kid := make([]byte, 20)
	_, _ = rand.Read(kid)
	email := fmt.Sprintf("scn-%x@%s.iam.gserviceaccount.com", kid[:3], s.Project)
	file := map[string]string{
		"type":                        "service_account",
		"project_id":                  s.Project,
		"private_key_id":              hex.EncodeToString(kid),
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   "104242424242424242424",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.TokenURL(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatalf("gcptest: encode service-account file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("gcptest: write %s: %v", path, err)
	}
	s.mu.Lock()
	s.keys[email] = &key.PublicKey
	s.mu.Unlock()
	return path
}

// token serves the OAuth 2.0 JWT-bearer grant (RFC 7523) as Google's token
// endpoint does for service accounts: form grant_type + assertion, the
// assertion an RS256 JWT whose iss is the service account and aud the token
// URI. Errors use the OAuth error JSON.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, oauthError{"invalid_request", "POST required"})
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("grant_type") != jwtBearer {
		writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "Invalid grant_type: " + form.Get("grant_type")})
		return
	}
	if err := s.verifyAssertion(form.Get("assertion")); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", err.Error()})
		return
	}
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	access := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(tok)
	s.mu.Lock()
	s.tokens[access] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "expires_in": 3599, "token_type": "Bearer"})
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// verifyAssertion checks the JWT's signature against the key WriteCredentials
// registered for its issuer, and its audience, expiry and scope.
func (s *Server) verifyAssertion(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("Invalid JWT: not a compact JWS")
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("Invalid JWT header: %v", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("Invalid JWT claims: %v", err)
	}
	s.mu.Lock()
	pub := s.keys[claims.Iss]
	s.mu.Unlock()
	if header.Alg != "RS256" || pub == nil {
		return fmt.Errorf("Invalid JWT Signature.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("Invalid JWT Signature.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("Invalid JWT Signature.")
	}
	now := time.Now().Unix()
	switch {
	case claims.Aud != s.TokenURL():
		return fmt.Errorf("Invalid JWT: aud %q is not the token URI", claims.Aud)
	case claims.Exp < now || claims.Iat > now+300:
		return fmt.Errorf("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	case !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/compute") &&
		!strings.Contains(claims.Scope, "https://www.googleapis.com/auth/cloud-platform"):
		return fmt.Errorf("Invalid OAuth scope or ID token audience provided: %q", claims.Scope)
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// ProviderConfig is a gcp.Config wired to this fake: fresh service-account
// credentials, its endpoint, project and zone, millisecond polling, and the
// SSH port hook. Callers adjust the rest (User, MachineType...).
func (s *Server) ProviderConfig(t testing.TB) gcp.Config {
	t.Helper()
	return gcp.Config{
		Project:         s.Project,
		Zone:            s.Zone,
		CredentialsFile: s.WriteCredentials(t),
		Endpoint:        s.Endpoint(),
		PollInterval:    time.Millisecond,
		SSHPortOverride: s.SSHPort,
	}
}
