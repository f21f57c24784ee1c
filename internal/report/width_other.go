//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package report

import "os"

// TerminalWidth is unknown here; the console falls back to $COLUMNS or 80.
func TerminalWidth(*os.File) int { return 0 }
