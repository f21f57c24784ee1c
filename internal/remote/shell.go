package remote

import (
	"context"
	"errors"
	"io"
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
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	err := c.Run()
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
