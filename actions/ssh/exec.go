package ssh

import (
	"context"
	"fmt"
	"strings"

	"github.com/scnlabs/scn/actions"
)

// ExecParams are the parameters of ssh.exec.
type ExecParams struct {
	On        actions.InstanceRef `json:"on" alias:"instance" required:"true" doc:"instance to run on: an id or ${{ steps.<id> }} of instance.create"`
	Command   string              `json:"command" required:"true" doc:"shell command, run by bash on the machine (sh where there is no bash)"`
	Stdin     string              `json:"stdin" doc:"text fed to the command's standard input"`
	Env       map[string]string   `json:"env" doc:"environment variables exported before the command"`
	Timeout   actions.Duration    `json:"timeout" min:">0" default:"10m" doc:"the command is stopped on the machine after this long (coreutils timeout: SIGTERM, SIGKILL 5s later), and the step fails"`
	Check     bool                `json:"check" default:"true" doc:"fail the step when the command exits non-zero; false only reports exit_code"`
	MaxOutput int                 `json:"max_output" min:"0" default:"1048576" doc:"bytes of stdout and of stderr kept in the outputs; the rest is dropped (truncated: true)"`
	Log       bool                `json:"log" doc:"show the output on the console line by line as it comes"`
}

// Validate implements actions.Validator.
func (p *ExecParams) Validate() error {
	if strings.TrimSpace(p.Command) == "" {
		return fmt.Errorf("command is empty")
	}
	return checkEnv(p.Env) // timeout and max_output: their range tags
}

// ExecOutputs are the outputs of ssh.exec.
type ExecOutputs struct {
	Stdout    string  `json:"stdout" doc:"standard output (up to max_output bytes)"`
	Stderr    string  `json:"stderr" doc:"standard error (up to max_output bytes)"`
	ExitCode  int     `json:"exit_code" doc:"the command's exit status (124 when timed out)"`
	Seconds   float64 `json:"seconds" doc:"how long the command ran"`
	Truncated bool    `json:"truncated" doc:"some output was beyond max_output and is not in stdout/stderr"`
	TimedOut  bool    `json:"timed_out" doc:"the command was stopped by timeout"`
}

// Exec runs a shell command on an instance.
var Exec = actions.Define(actions.Info{
	Name:    "ssh.exec",
	Summary: "run a shell command on an instance → stdout, stderr, exit_code",
	Doc: `Runs command on the instance over SSH with bash (sh where there is no bash),
after exporting env, with stdin as its input. Env values travel on the
session's input, never on a command line (where ps on the machine, or an
error message, would show them): any text is safe, and env needs bash on the
machine.

The command runs under coreutils timeout on the machine itself, so it stops
there even when the SSH session is lost; the timeout is shortened to fit the
step's own timeout. A timed-out command always fails the step. With check:
true (the default) a non-zero exit fails it too; with check: false the step
passes and exit_code tells — test it with expect. The outputs are set in
every case.`,
	Example: "- id: gpu_info\n  action: ssh.exec\n  with: { on: \"${{ steps.gpu }}\", command: \"nvidia-smi --query-gpu=name --format=csv,noheader\" }\n  expect: [ \"exit_code == 0\" ]",
}, func(ctx context.Context, env *actions.Env, p *ExecParams) (*ExecOutputs, error) {
	x, inst, err := env.Exec(ctx, p.On)
	if err != nil {
		return nil, err
	}
	c := Command{Script: p.Command, Stdin: p.Stdin, Env: p.Env, Timeout: p.Timeout.Duration, MaxOutput: p.MaxOutput}
	if p.Log {
		c.Log = func(stream, line string) {
			if stream == "stderr" {
				line = "stderr: " + line
			}
			env.Logf("%s", line)
		}
	}
	res, err := Run(ctx, x, c)
	if res == nil {
		return nil, fmt.Errorf("on instance %s: %w", inst.ID, err)
	}
	out := &ExecOutputs{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode, Seconds: res.Seconds,
		Truncated: res.Truncated, TimedOut: res.TimedOut}
	switch {
	case err != nil:
		return out, fmt.Errorf("on instance %s: %w", inst.ID, err)
	case res.TimedOut:
		return out, fmt.Errorf("command timed out after %.0fs on instance %s: %s", res.Seconds, inst.ID, short(p.Command))
	case p.Check && res.ExitCode != 0:
		msg := lastLines(res.StderrTail, 5)
		if msg == "" {
			msg = "(no stderr)"
		}
		return out, fmt.Errorf("command exited %d on instance %s: %s: %s", res.ExitCode, inst.ID, short(p.Command), msg)
	}
	return out, nil
})

// lastLines keeps the end of an output for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > 1000 {
		out = "…" + out[len(out)-1000:]
	}
	return out
}
