package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/atomicfile"
)

// KeyFile is the name of the private key LoadOrCreateKey keeps in its
// directory; the public key sits next to it with ".pub" appended.
const KeyFile = "id_ed25519"

// keyComment ends the authorized_keys line so a key scn installed on a
// machine can be recognised (and removed) by hand.
const keyComment = "scn"

// Key is an SSH identity: the project key scn authenticates with, or a
// sandbox's host key.
type Key struct {
	Signer ssh.Signer
	// AuthorizedKey is one authorized_keys line, without a newline,
	// commented "scn": what a machine must accept.
	AuthorizedKey string
	// Path is the private key file.
	Path string
}

// LoadOrCreateKey returns the ed25519 key at <dir>/id_ed25519, creating it
// (and <dir>/id_ed25519.pub) when it does not exist yet. Two scn processes
// may call it at the same time: each writes a complete key to a temporary
// file and links it into place, which fails if the name is taken, so the
// loser throws its key away and loads the winner's. Nobody ever reads a
// half-written key.
func LoadOrCreateKey(dir string) (*Key, error) {
	path := filepath.Join(dir, KeyFile)
	k, err := loadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory %s: %w", dir, err)
	}
	if err := createKey(path); err != nil {
		return nil, err
	}
	return loadKey(path)
}

// loadKey reads a private key and makes sure its .pub companion exists
// (a crash between linking the key and writing .pub leaves it missing).
func loadKey(path string) (*Key, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read SSH key %s: %w", path, err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parse SSH key %s: %w", path, err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + keyComment
	pub := path + ".pub"
	if have, err := os.ReadFile(pub); err != nil || strings.TrimSpace(string(have)) != line {
		// Same content from every writer, so a rename race is harmless.
		if err := atomicfile.WriteFile(pub, []byte(line+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("write public key %s: %w", pub, err)
		}
	}
	return &Key{Signer: signer, AuthorizedKey: line, Path: path}, nil
}

// createKey writes a fresh key at path unless path exists. Finding path
// taken means another process won the race: not an error, its key is the
// one to use.
func createKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, keyComment)
	if err != nil {
		return fmt.Errorf("encode ed25519 key: %w", err)
	}
	if err := atomicfile.Create(path, pem.EncodeToMemory(block), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install SSH key %s: %w", path, err)
	}
	return nil
}
