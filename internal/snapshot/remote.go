package snapshot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// exitError is a remote command that ran and failed.
type exitError struct {
	what   string // "tar", "md5sum", ...
	code   int
	stderr string
}

func (e *exitError) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("%s exited %d", e.what, e.code)
	}
	return fmt.Sprintf("%s exited %d: %s", e.what, e.code, strings.TrimSuffix(e.stderr, " ;"))
}

// run executes cmd and turns a non-zero exit into an *exitError.
func run(ctx context.Context, ex remote.Execer, what, cmd string) error {
	stderr := remote.NewTail(4096)
	code, err := ex.Exec(ctx, cmd, nil, nil, stderr)
	if err != nil {
		return fmt.Errorf("running %s: %w", what, err)
	}
	if code != 0 {
		return &exitError{what: what, code: code, stderr: stderr.String()}
	}
	return nil
}

// cleanupCtx outlives a cancelled operation just long enough to tidy up.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
}
