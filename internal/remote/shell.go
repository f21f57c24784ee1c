package remote

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
)

// Shell is an Execer that runs commands with the local /bin/sh, in Dir. It is
// what a sandbox's SSH server does for each session, and lets pipeline tests
// exercise real tar processes without a network in between.
type Shell struct {
	Dir string
	Env []string // extra environment, KEY=VALUE
}

// Exec implements Execer.
func (s Shell) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Dir = s.Dir
	if len(s.Env) > 0 {
		c.Env = append(c.Environ(), s.Env...)
	}
	c.Stdout, c.Stderr = stdout, stderr
	err := start(c, stdin)
	if err == nil {
		err = c.Wait()
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// start starts c with stdin copied by a goroutine of ours, not os/exec's:
// Wait waits for its own until stdin ends, so a command that exits
// without reading all of it (an agent whose caller keeps the control
// channel open) would never return. As over SSH, the command's exit ends
// the session; the copy stops at its next write (EPIPE) or when stdin
// ends.
func start(c *exec.Cmd, stdin io.Reader) error {
	if stdin == nil {
		return c.Start()
	}
	if f, ok := stdin.(*os.File); ok {
		c.Stdin = f // the child reads it itself: nothing to wait for
		return c.Start()
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	c.Stdin = pr
	err = c.Start()
	pr.Close() // the child has its own copy
	if err != nil {
		pw.Close()
		return err
	}
	go func() {
		io.Copy(pw, stdin)
		pw.Close()
	}()
	return nil
}
