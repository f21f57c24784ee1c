package runner_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/runner"
)

// A secret var is masked by every value inside it (an object-valued one
// is used field by field), and as what expressions make of it: upper(),
// a slice of it, a field — everywhere a run writes, its explanations
// included.
func TestSecretVarsAreMaskedInEveryForm(t *testing.T) {
	src := `name: secrets
vars:
  db: { secret: true, default: { user: bob-the-user, pass: P4ss-XYZ-991 } }
  token: { secret: true, default: tok-SUPERSECRET-123 }
steps:
  - { id: a, action: log, with: { message: "${{ vars.db.pass }} ${{ upper(vars.token) }} ${{ vars.token[4:] }}" } }
  - id: b
    assert: "upper(vars.token) == 'nope'"
    continue_on_error: true
`
	j, _ := runSrc(t, src, runner.Options{Masker: secret.New()}, nil)
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"P4ss-XYZ-991", "bob-the-user", "TOK-SUPERSECRET-123", "SUPERSECRET-123", "tok-SUPERSECRET"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("the journal shows %q", leak)
		}
	}
	if got := step(t, j, "a").Logs; len(got) != 1 || got[0] != "*** *** ***" {
		t.Errorf("logs %q; want every part masked", got)
	}
	if s := step(t, j, "b"); !strings.Contains(s.Error, "upper(vars.token) = ***") {
		t.Errorf("the assertion's explanation %q; want the part reading the secret shown as ***", s.Error)
	}
}

// A secret var whose default fails does not quote what the default read.
func TestASecretVarsFailingDefaultIsNotQuoted(t *testing.T) {
	c := checkSrc(t, "pin.yaml", `name: pin
vars: { pin: { secret: true, default: "${{ int(env.SIM_PIN) }}" } }
steps: [ { action: log, with: { message: x } } ]
`, &world{})
	_, err := runner.New(c, runner.Options{Masker: secret.New(), Env: map[string]string{"SIM_PIN": "12O4-SECRET-PIN"}})
	if err == nil || strings.Contains(err.Error(), "SECRET-PIN") || !strings.Contains(err.Error(), "var pin") {
		t.Fatalf("runner.New = %v; want the var named, its input not shown", err)
	}
}

// Masking what a secret becomes must not mask what it is not: the short
// or boolean fields of a secret object (a port 22, tls true), a word the
// expression itself wrote ("set"). vars passed whole reaches any secret.
func TestSecretMaskingLeavesPlainValuesAlone(t *testing.T) {
	src := `name: plain
vars:
  db: { secret: true, default: { host: db.internal, port: 22, tls: true, pass: P4ss-XYZ-991 } }
  token: { secret: true, default: tok-SUPERSECRET-123 }
steps:
  - { id: a, action: log, with: { message: "port ${{ vars.db.port }} tls ${{ vars.db.tls }} ${{ vars.token != '' ? 'token-set' : 'unset' }}" } }
  - { id: b, action: log, with: { message: "${{ upper(get(vars, 'token')) }} token-set" } }
`
	j, _ := runSrc(t, src, runner.Options{Masker: secret.New()}, nil)
	if got := step(t, j, "a").Logs; len(got) != 1 || got[0] != "port 22 tls true token-set" {
		t.Errorf("logs %q; want the plain values shown", got)
	}
	if got := step(t, j, "b").Logs; len(got) != 1 || got[0] != "*** token-set" {
		t.Errorf("logs %q; want the secret read through vars masked, the word shown", got)
	}
}

// A target's credential read from env and transformed (a basic-auth header
// built in a scenario) is masked like a secret var's: its base64 of the
// pair is not the base64 of either, which the masker knows.
func TestTransformedCredentialsFromEnvAreMasked(t *testing.T) {
	m := secret.New()
	m.Add("K005-app-key-secret") // the target's, as runner.New adds Target.Secrets
	src := `name: env-secret
steps:
  - { id: a, action: log, with: { message: "Basic ${{ toBase64(env.B2_KEY_ID + ':' + env.B2_APPLICATION_KEY) }}" } }
`
	j, _ := runSrc(t, src, runner.Options{Masker: m, Env: map[string]string{"B2_KEY_ID": "0051234", "B2_APPLICATION_KEY": "K005-app-key-secret"}}, nil)
	if got := step(t, j, "a").Logs; len(got) != 1 || got[0] != "Basic ***" {
		t.Errorf("logs %q; want the header's credentials masked", got)
	}
}
