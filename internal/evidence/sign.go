package evidence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Namespace is the SSHSIG namespace of evidence signatures:
// `ssh-keygen -Y verify -n scn-evidence`.
const Namespace = "scn-evidence"

// Signer signs bundles: an x/crypto/ssh signer.
type Signer = ssh.Signer

// LoadSigner reads an OpenSSH private key. passphrase is asked only when
// the key is encrypted.
func LoadSigner(keyFile string, passphrase func() ([]byte, error)) (ssh.Signer, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pass, perr := passphrase()
		if perr != nil {
			return nil, fmt.Errorf("%s is encrypted: %w", keyFile, perr)
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(pem, pass)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return s, nil
}

// Sign is the armored SSH signature of msg (SSHSIG, SHA-512, namespace
// scn-evidence): the envelope from hiddeco/sshsig, the signature from the
// x/crypto/ssh signer.
func Sign(msg []byte, signer ssh.Signer) ([]byte, error) {
	sig, err := sshsig.Sign(bytes.NewReader(msg), signer, sshsig.HashSHA512, Namespace)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", SumsFile, err)
	}
	return sshsig.Armor(sig), nil
}

// Verified is what Verify found in a good bundle.
type Verified struct {
	RunID  string
	Files  int      // files checked against SHA256SUMS
	Signed bool     // SHA256SUMS.sig was there and good
	Signer []string // principals of allowed_signers the key matched
	Key    string   // SHA256 fingerprint of the key that signed
}

// Verify checks a bundle: every file it holds is listed in SHA256SUMS
// with its hash and every listed file is there; when allowedSigners is
// given (the CLI always gives it: sums alone prove nothing), SHA256SUMS.sig must be an SSHSIG (namespace scn-evidence) by a
// key allowed_signers lists for identity (any principal when identity is
// ""), as `ssh-keygen -Y verify` would judge it.
func Verify(bundle io.Reader, allowedSigners io.Reader, identity string) (*Verified, error) {
	dir, files, err := readBundle(bundle)
	if err != nil {
		return nil, err
	}
	v := &Verified{RunID: dir}
	sums, ok := files[SumsFile]
	if !ok {
		return nil, fmt.Errorf("the bundle has no %s", SumsFile)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for line := 1; sc.Scan(); line++ {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(want) != 64 {
			return nil, fmt.Errorf("%s line %d is not \"<sha256>  <file>\"", SumsFile, line)
		}
		data, there := files[name]
		if !there {
			return nil, fmt.Errorf("%s lists %s, which the bundle does not hold", SumsFile, name)
		}
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != want {
			return nil, fmt.Errorf("%s does not match %s: it was changed after packing", name, SumsFile)
		}
		listed[name] = true
	}
	var extra []string
	for name := range files {
		if !listed[name] && name != SumsFile && name != SigFile {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("%s does not list %s: added after packing", SumsFile, strings.Join(extra, ", "))
	}
	v.Files = len(listed)
	if allowedSigners == nil {
		return v, nil
	}
	armored, ok := files[SigFile]
	if !ok {
		return nil, fmt.Errorf("the bundle is not signed: it has no %s", SigFile)
	}
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SigFile, err)
	}
	if sig.Namespace != Namespace {
		return nil, fmt.Errorf("%s is for namespace %q, not %q", SigFile, sig.Namespace, Namespace)
	}
	signers, err := parseAllowedSigners(allowedSigners)
	if err != nil {
		return nil, err
	}
	principals := allowedFor(signers, sig.PublicKey, identity)
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	if len(principals) == 0 {
		who := "any principal"
		if identity != "" {
			who = identity
		}
		return nil, fmt.Errorf("%s was made by key %s, which the allowed signers do not list for %s", SigFile, fp, who)
	}
	if err := sshsig.Verify(bytes.NewReader(sums), sig, sig.PublicKey, sig.HashAlgorithm, Namespace); err != nil {
		return nil, fmt.Errorf("%s does not verify with key %s: %w", SigFile, fp, err)
	}
	v.Signed, v.Signer, v.Key = true, principals, fp
	return v, nil
}

// allowedSigner is one line of an allowed_signers file (ssh-keygen(1),
// ALLOWED SIGNERS): principals, options, key.
type allowedSigner struct {
	principals []string
	namespaces []string // empty: any
	key        ssh.PublicKey
}

// parseAllowedSigners reads an allowed_signers file. Certificate
// authorities (cert-authority) are not supported and are skipped: scn
// signs with plain keys.
func parseAllowedSigners(r io.Reader) ([]allowedSigner, error) {
	var out []allowedSigner
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		principals, rest, _ := strings.Cut(text, " ")
		// The rest is authorized_keys syntax: [options] keytype base64 [comment].
		key, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
		if err != nil {
			return nil, fmt.Errorf("allowed signers line %d: %w", line, err)
		}
		s := allowedSigner{principals: strings.Split(strings.Trim(principals, `"`), ","), key: key}
		skip := false
		for _, o := range opts {
			name, val, _ := strings.Cut(o, "=")
			switch strings.ToLower(name) {
			case "namespaces":
				s.namespaces = strings.Split(strings.Trim(val, `"`), ",")
			case "cert-authority":
				skip = true
			}
		}
		if !skip {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// allowedFor is the principals of signers that allow key for the
// evidence namespace and identity ("" any): none when it is not allowed.
func allowedFor(signers []allowedSigner, key ssh.PublicKey, identity string) []string {
	var out []string
	for _, s := range signers {
		if !bytes.Equal(s.key.Marshal(), key.Marshal()) {
			continue
		}
		if len(s.namespaces) > 0 && !slices.ContainsFunc(s.namespaces, func(ns string) bool { ok, _ := path.Match(ns, Namespace); return ok }) {
			continue
		}
		for _, p := range s.principals {
			if ok, _ := path.Match(p, identity); identity == "" || ok {
				out = append(out, p)
			}
		}
	}
	return out
}
