package vast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/crypto/ssh"
)

// normalizeKey reduces an authorized_keys line to "type base64", so that
// the same key with another comment is recognised.
func normalizeKey(line string) (string, error) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(line)))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), nil
}

// ensureAccountKey makes sure pub is one of the account's SSH keys: it lists
// them (GET /api/v0/ssh/) and adds pub (POST /api/v0/ssh/) only when it is
// missing. A key seen once is remembered for the provider's lifetime.
func (p *Provider) ensureAccountKey(ctx context.Context, pub string) error {
	want, err := normalizeKey(pub)
	if err != nil {
		return fmt.Errorf("the SSH public key is not an authorized_keys line: %w", err)
	}
	p.keyMu.Lock()
	defer p.keyMu.Unlock()
	if p.keysLoaded[want] {
		return nil
	}
	keys, err := p.listAccountKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing the account's SSH keys: %w", err)
	}
	for _, k := range keys {
		if k.DeletedAt != nil {
			continue
		}
		if got, err := normalizeKey(firstNonEmpty(k.Key, k.PublicKey)); err == nil && got == want {
			p.keysLoaded[want] = true
			return nil
		}
	}
	var resp struct {
		Success *bool  `json:"success"`
		Msg     string `json:"msg"`
	}
	// Adding the same key twice is harmless, so a lost answer may be retried.
	body := map[string]string{"ssh_key": strings.TrimSpace(pub)}
	if err := p.do(ctx, request{method: http.MethodPost, path: "/api/v0/ssh/", body: body, out: &resp, idempotent: true}); err != nil {
		return fmt.Errorf("adding the run's SSH key to the account: %w", err)
	}
	if resp.Success != nil && !*resp.Success {
		return fmt.Errorf("adding the run's SSH key to the account: VAST refused: %s", firstNonEmpty(resp.Msg, "success false"))
	}
	p.keysLoaded[want] = true
	return nil
}

// listAccountKeys reads GET /api/v0/ssh/. A fresh account has no keys,
// and VAST says so with a 404 "No SSH keys found" rather than an empty
// list: that answer is an empty list, not an error.
func (p *Provider) listAccountKeys(ctx context.Context) ([]wireKey, error) {
	var raw json.RawMessage
	err := p.do(ctx, request{method: http.MethodGet, path: "/api/v0/ssh/", out: &raw, idempotent: true})
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound && noKeysMessage(ae):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return accountKeys(raw)
}

// noKeysMessage recognises VAST's "No SSH keys found", whichever field
// carries it, so that a 404 from a wrong base URL is still an error.
func noKeysMessage(ae *APIError) bool {
	return strings.Contains(strings.ToLower(ae.Code+" "+ae.Msg), "no ssh keys")
}

// wireKey is an account SSH key. The list endpoint names the key "key";
// the create endpoint's answer names it "public_key".
type wireKey struct {
	ID        int64   `json:"id"`
	Key       string  `json:"key"`
	PublicKey string  `json:"public_key"`
	DeletedAt *string `json:"deleted_at"`
}

// accountKeys reads GET /api/v0/ssh/: a bare list, or (older servers) an
// object holding it under "ssh_keys" or "keys".
func accountKeys(raw json.RawMessage) ([]wireKey, error) {
	var keys []wireKey
	if err := json.Unmarshal(raw, &keys); err == nil {
		return keys, nil
	}
	var wrapped struct {
		SSHKeys []wireKey `json:"ssh_keys"`
		Keys    []wireKey `json:"keys"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("unexpected answer: %w", err)
	}
	return append(wrapped.SSHKeys, wrapped.Keys...), nil
}
