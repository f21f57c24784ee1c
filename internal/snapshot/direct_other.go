//go:build !linux

package snapshot

import (
	"errors"
	"os"
)

// No O_DIRECT here: every file goes through the page cache.
const oDirect = 0

func clearDirect(*os.File) error { return errors.ErrUnsupported }
