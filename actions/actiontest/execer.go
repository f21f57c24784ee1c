package actiontest

import (
	"context"
	"io"
	"sync"
)

// Reply is what a command prints and how it ends.
type Reply struct {
	Stdout, Stderr string
	Code           int   // exit status
	Err            error // the command could not be run (connection lost)
}

// Execer is a machine that runs nothing: Answer says what each command
// would print and how it would exit, so a test can feed an action the
// output real tools give on machines it has not got (nvidia-smi on a GPU,
// a tool that is missing). Every command is kept, in order.
type Execer struct {
	Answer func(cmd, stdin string) Reply

	mu   sync.Mutex
	cmds []string
}

// Answering is an Execer giving every command the same reply.
func Answering(r Reply) *Execer {
	return &Execer{Answer: func(string, string) Reply { return r }}
}

// Exec implements remote.Execer.
func (x *Execer) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var in []byte
	if stdin != nil {
		var err error
		if in, err = io.ReadAll(stdin); err != nil {
			return -1, err
		}
	}
	x.mu.Lock()
	x.cmds = append(x.cmds, cmd)
	x.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	r := x.Answer(cmd, string(in))
	if r.Err != nil {
		return -1, r.Err
	}
	if stdout != nil {
		io.WriteString(stdout, r.Stdout)
	}
	if stderr != nil {
		io.WriteString(stderr, r.Stderr)
	}
	return r.Code, nil
}

// Commands lists the commands run so far.
func (x *Execer) Commands() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.cmds...)
}
