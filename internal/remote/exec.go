// Package remote is scn's SSH client: it dials instances (retrying while a
// new host comes up), pins host keys for the life of a run, keeps
// connections alive through slow proxies and runs commands with their
// stdin/stdout/stderr streamed. Everything that touches a machine — files,
// snapshots, standby sync — goes through the Execer interface defined here.
package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// Execer runs one shell command on a machine. stdin may be nil (the command
// sees EOF at once); stdout and stderr may be nil (discarded). A non-nil error
// means the command could not be run or was cut off (transport failure, ctx
// cancelled); otherwise exitCode is the command's exit status.
type Execer interface {
	Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error)
}

// ExitError is returned by Run when the command ran but exited non-zero.
type ExitError struct {
	Cmd    string
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	if msg == "" {
		return fmt.Sprintf("remote command exited %d: %s", e.Code, short(e.Cmd))
	}
	return fmt.Sprintf("remote command exited %d: %s: %s", e.Code, short(e.Cmd), msg)
}

// Run executes cmd and returns its stdout; a non-zero exit becomes an *ExitError
// carrying stderr, so callers can say what went wrong on the machine.
func Run(ctx context.Context, e Execer, cmd string, stdin io.Reader) (string, error) {
	var out, errb bytes.Buffer
	code, err := e.Exec(ctx, cmd, stdin, &out, &errb)
	if err != nil {
		return out.String(), err
	}
	if code != 0 {
		return out.String(), &ExitError{Cmd: cmd, Code: code, Stderr: errb.String()}
	}
	return out.String(), nil
}

// Quote returns s as a single POSIX shell word.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func short(cmd string) string {
	cmd = strings.Join(strings.Fields(cmd), " ")
	if len(cmd) > 120 {
		return cmd[:120] + "…"
	}
	return cmd
}
