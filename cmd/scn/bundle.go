package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/scnlabs/scn/internal/evidence"
)

// Evidence bundles from the command line: scn report RUN --bundle F
// [--sign KEY] packs one (internal/evidence), scn report --verify-bundle F
// [--allowed-signers F [--identity ID]] checks one.

// passphraseEnv holds the signing key's passphrase for unattended use.
const passphraseEnv = "SCN_SIGN_PASSPHRASE"

func packBundle(s *printer, f *reportFlags, runDir string) error {
	var signer evidence.Signer
	if f.sign != "" {
		var err error
		if signer, err = evidence.LoadSigner(f.sign, passphrase(f.sign)); err != nil {
			return exitWith(2, "--sign: %v", err)
		}
	}
	names, err := evidence.Pack(runDir, f.bundle, signer)
	if err != nil {
		return exitWith(1, "--bundle: %v", s.mask.String(err.Error()))
	}
	signed := "unsigned"
	if signer != nil {
		signed = "signed (" + evidence.Namespace + ")"
	}
	fmt.Fprintf(s.out, "evidence bundle %s: %d files, %s\n", f.bundle, len(names), signed)
	return nil
}

// passphrase reads the key's passphrase from SCN_SIGN_PASSPHRASE, else
// asks on the terminal without echo when scn's stdin is one; otherwise
// signing fails.
func passphrase(key string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if p, ok := os.LookupEnv(passphraseEnv); ok {
			return []byte(p), nil
		}
		// Asked only of someone at a terminal: a CI job or a script with
		// its stdin elsewhere gets an error, never a prompt that hangs.
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return nil, errors.New("no terminal to ask its passphrase on: set " + passphraseEnv)
		}
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return nil, errors.New("no terminal to ask its passphrase on: set " + passphraseEnv)
		}
		defer tty.Close()
		fmt.Fprintf(tty, "Passphrase for %s: ", key)
		p, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return p, err
	}
}

func verifyBundle(s *printer, f *reportFlags) error {
	// A bundle's sums alone prove nothing: whoever changed a file can
	// rewrite SHA256SUMS too. The signature is what an auditor checks.
	if f.allowed == "" {
		return exitWith(2, "--verify-bundle needs --allowed-signers FILE: the keys trusted to sign (ssh-keygen's allowed_signers format)")
	}
	b, err := os.Open(f.verifyBundle)
	if err != nil {
		return exitWith(2, "%v", err)
	}
	defer b.Close()
	allowed, err := os.Open(f.allowed)
	if err != nil {
		return exitWith(2, "%v", err)
	}
	defer allowed.Close()
	v, err := evidence.Verify(b, allowed, f.identity)
	if err != nil {
		return exitWith(1, "bundle %s does NOT verify: %v", f.verifyBundle, err)
	}
	fmt.Fprintf(s.out, "bundle %s verifies: run %s, %d files match %s\n", f.verifyBundle, v.RunID, v.Files, evidence.SumsFile)
	fmt.Fprintf(s.out, "signed by %s (key %s, namespace %s)\n", strings.Join(v.Signer, ", "), v.Key, evidence.Namespace)
	return nil
}
