package store

import (
	"fmt"
	"strings"

	"github.com/scnlabs/scn/internal/atomicfile"
)

// tempPrefix starts the name of a Dir's in-progress uploads (the temporary
// files of internal/atomicfile); keys may not use it, so List never
// confuses a partial upload with an object.
const tempPrefix = atomicfile.TempPrefix

// CheckKey reports whether key is acceptable to every store: a relative,
// slash-separated path with no empty, "." or ".." segment and no
// backslash or NUL. The same rule on every backend keeps a snapshot that
// works on a directory store working on S3 and back.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("invalid key %q: empty", key)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("invalid key %q: absolute", key)
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("invalid key %q: contains a backslash or NUL", key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("invalid key %q: empty path segment", key)
		case seg == "." || seg == "..":
			return fmt.Errorf("invalid key %q: %q segment", key, seg)
		case strings.HasPrefix(seg, tempPrefix):
			return fmt.Errorf("invalid key %q: segments starting %q are reserved", key, tempPrefix)
		}
	}
	return nil
}
