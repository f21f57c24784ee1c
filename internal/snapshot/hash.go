package snapshot

import (
	"crypto/md5"
	"fmt"
	"hash"

	"github.com/zeebo/xxh3"
)

// Per-file hash algorithms a manifest may name (hash_algorithm). A manifest
// without one is MD5: every snapshot written before the agent existed, and
// every one streamed through scn over SSH, whose remote check is md5sum.
// scn's agent hashes with xxh3-128, which keeps up with the disk where MD5
// (about 600 MB/s per core) would not; its hex digest is the canonical
// big-endian form `xxh128sum` prints, so a file can be checked by hand.
const (
	HashMD5  = "md5"
	HashXXH3 = "xxh3-128"
)

// newHash returns a fresh hash for alg ("" is MD5).
func newHash(alg string) (hash.Hash, error) {
	switch alg {
	case "", HashMD5:
		return md5.New(), nil
	case HashXXH3:
		return xxh3.New128(), nil
	}
	return nil, fmt.Errorf("per-file hash %q is not supported (this scn knows %s and %s)", alg, HashMD5, HashXXH3)
}

// algorithm is alg with the default spelled out, for messages.
func algorithm(alg string) string {
	if alg == "" {
		return HashMD5
	}
	return alg
}

// Digest is the entry's content hash in its manifest's algorithm (set for
// files and hard links).
func (e Entry) Digest() string {
	if e.MD5 != "" {
		return e.MD5
	}
	return e.Hash
}

// setDigest records sum in the field alg's manifests use: md5 for MD5 (as
// every manifest before), hash otherwise.
func (e *Entry) setDigest(alg, sum string) {
	if algorithm(alg) == HashMD5 {
		e.MD5 = sum
	} else {
		e.Hash = sum
	}
}
