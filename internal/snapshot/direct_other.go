//go:build !linux

package snapshot

import (
	"errors"
	"os"
)

// No O_DIRECT here: every file goes through the page cache.
const oDirect = 0

func setDirect(*os.File, bool) error { return errors.ErrUnsupported }
