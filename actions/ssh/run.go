// Package ssh holds ssh.exec: run a shell command on an instance and get
// its stdout, stderr and exit code. The work is in Run, a plain function
// over a remote.Execer, so it behaves the same on a sandbox, a VAST GPU or
// a local shell in tests. A command is always bounded on the machine
// itself (coreutils `timeout`), because closing an SSH session does not
// reliably stop what it started.
package ssh

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// Command is one command to run on a machine.
type Command struct {
	Script  string            // shell text, run by bash (sh without bash)
	Stdin   string            // fed to the command; empty = EOF at once
	Env     map[string]string // exported before Script
	Timeout time.Duration     // bound on the machine; required (> 0)
	// MaxOutput is the number of bytes kept of each stream; the rest is
	// counted and dropped. 0 keeps nothing.
	MaxOutput int
	// Grace is how long past Timeout scn waits for a machine that stopped
	// answering; 0 means the default (killAfter + 10s).
	Grace time.Duration
	// Log, when set, receives the kept output line by line as it comes,
	// one call at a time; stream is "stdout" or "stderr".
	Log func(stream, line string)
}

// Result is what a command did.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
	Seconds        float64
	Truncated      bool   // some output was beyond MaxOutput
	TimedOut       bool   // stopped by Timeout
	StderrTail     string // the end of stderr, kept even beyond MaxOutput
}

// killAfter is how long `timeout` waits after SIGTERM before SIGKILL.
const killAfter = 5 * time.Second

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkEnv rejects variable names the shell cannot export.
func checkEnv(env map[string]string) error {
	for k := range env {
		if !envName.MatchString(k) {
			return fmt.Errorf("env name %q is not a shell variable name (letters, digits, _)", k)
		}
	}
	return nil
}

// Run runs c on the machine. The command runs under `timeout` on the
// machine, so it stops there even if the SSH session is lost; the local
// wait is bounded too (timeout plus a grace period) in case the machine
// stops answering. The timeout is shortened to fit ctx's deadline. A
// non-zero exit is a Result, not an error; an error means the command
// could not be run or did not end.
func Run(ctx context.Context, x remote.Execer, c Command) (*Result, error) {
	if err := checkEnv(c.Env); err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		return nil, fmt.Errorf("a command needs a timeout")
	}
	secs := int(math.Ceil(c.Timeout.Seconds()))
	if d, ok := ctx.Deadline(); ok {
		// Stop on the machine a second before the deadline, so the exit
		// status is heard before ctx cuts the session.
		secs = max(1, min(secs, int(time.Until(d).Seconds()-1)))
	}
	grace := c.Grace
	if grace <= 0 {
		grace = killAfter + 10*time.Second
	}
	bounded, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+grace)
	defer cancel()

	log := c.Log
	if log != nil {
		// stdout and stderr are copied by separate goroutines.
		var mu sync.Mutex
		log = func(stream, line string) {
			mu.Lock()
			defer mu.Unlock()
			c.Log(stream, line)
		}
	}
	stdout := newCapture(c.MaxOutput, "stdout", log)
	stderr := newCapture(c.MaxOutput, "stderr", log)
	var stdin io.Reader // nil: the command sees EOF at once
	if c.Stdin != "" {
		stdin = strings.NewReader(c.Stdin)
	}
	if len(c.Env) > 0 {
		// The values travel on stdin, ahead of the command's own input, so
		// they never appear in a command line (ps on the machine, scn's
		// error messages) where a quoted secret would escape masking.
		block := strings.NewReader(exports(c.Env) + "\x00")
		if stdin == nil {
			stdin = block
		} else {
			stdin = io.MultiReader(block, stdin)
		}
	}
	start := time.Now()
	code, err := x.Exec(bounded, wrap(c.Script, len(c.Env) > 0, secs), stdin, stdout, stderr)
	elapsed := time.Since(start)
	stdout.flush()
	stderr.flush()
	res := &Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: code, Seconds: elapsed.Seconds(),
		Truncated: stdout.dropped > 0 || stderr.dropped > 0, StderrTail: string(stderr.tail)}
	switch {
	case err != nil && bounded.Err() != nil && ctx.Err() == nil:
		return res, fmt.Errorf("running %q: the machine did not end the session %s after the command's timeout: %w",
			short(c.Script), grace, err)
	case err != nil:
		return res, fmt.Errorf("running %q: %w", short(c.Script), err)
	case code == 127 && strings.Contains(res.StderrTail, "timeout") && strings.Contains(res.StderrTail, "not found"):
		return res, fmt.Errorf("the machine has no timeout command (coreutils), which scn needs to bound commands: %s", trim(res.StderrTail))
	}
	// timeout exits 124 (137 after SIGKILL) when it stopped the command;
	// the command itself could exit 124, so the time must agree.
	res.TimedOut = (code == 124 || code == 137) && elapsed >= time.Duration(secs)*time.Second
	return res, nil
}

// wrap builds the command line: bash (sh where there is no bash) runs the
// script under `timeout`, which signals its whole process group, so
// background children die with it. bash rather than $SHELL: a sandbox
// inherits the developer's SHELL, which may not speak POSIX. With env, the
// script first reads the exports from stdin up to a NUL (bash's read -d)
// and evaluates them.
func wrap(script string, env bool, secs int) string {
	shell := `"$(command -v bash || echo /bin/sh)"`
	if env {
		shell = "bash"
		script = "IFS= read -r -d '' __scn_env; eval \"$__scn_env\"; unset __scn_env\n" + script
	}
	return "exec timeout -k " + strconv.Itoa(int(killAfter.Seconds())) + " " + strconv.Itoa(secs) +
		" " + shell + " -c " + remote.Quote(script)
}

// exports is the env as shell export lines, sorted, values quoted.
func exports(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("export " + k + "=" + remote.Quote(env[k]) + "\n")
	}
	return b.String()
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// short is a command shortened for messages.
func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
