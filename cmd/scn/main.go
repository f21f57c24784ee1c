// Command scn runs GPU failover drills written as YAML scenarios. Each
// subcommand has its own file here; the work itself lives in runner/,
// actions/ and internal/.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	// Root certificates for when the system has none (scn's container
	// image is FROM scratch): used only when the system pool is missing.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/snapshot"
)

func main() {
	// A local sandbox is this same binary started detached: serve it and
	// never return when that is what this process is for.
	local.RunIfChild()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(snapshot.MemoryLimit)
	}
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI and returns the process exit code: 0 pass, 1 fail,
// 2 bad input, 130/143 interrupted.
func run(args []string) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(os.Stderr, "scn: internal error: %v\n(this is a bug in scn: please report it with the command you ran)\n", v)
			code = 2
		}
	}()
	cmd := newRoot()
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.msg != "" {
			fmt.Fprintln(os.Stderr, ex.msg)
		}
		return ex.code
	}
	fmt.Fprintln(os.Stderr, "scn:", err)
	return 2
}

// exitError ends the command with a given code; msg (if any) goes to stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

func exitWith(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}
