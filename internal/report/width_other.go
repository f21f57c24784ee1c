//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package report

import "os"

// termWidth is unknown here; the console falls back to $COLUMNS or 80.
func termWidth(*os.File) int { return 0 }
