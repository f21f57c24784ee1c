// Package misc holds the actions that need no machine: sleep and log.
package misc

import (
	"context"
	"time"

	"github.com/scnlabs/scn/actions"
)

// SleepParams are the parameters of sleep.
type SleepParams struct {
	Duration actions.Duration `json:"duration" required:"true" doc:"how long to wait: 30s, 2m"`
}

// SleepOutputs are the outputs of sleep.
type SleepOutputs struct {
	Seconds float64 `json:"seconds" doc:"seconds actually waited"`
}

// Sleep waits, e.g. to let a standby notice a failure.
var Sleep = actions.Define(actions.Info{
	Name:    "sleep",
	Summary: "wait for a while (interrupted by the step timeout or Ctrl+C)",
	Example: "- action: sleep\n  with: { duration: 30s }",
}, func(ctx context.Context, env *actions.Env, p *SleepParams) (*SleepOutputs, error) {
	start := time.Now()
	t := time.NewTimer(p.Duration.Duration)
	defer t.Stop()
	var err error
	select {
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-t.C:
	}
	return &SleepOutputs{Seconds: time.Since(start).Seconds()}, err
})

// LogParams are the parameters of log.
type LogParams struct {
	Message string `json:"message" required:"true" doc:"text to show; use ${{ }} to include values"`
}

// LogOutputs are the outputs of log.
type LogOutputs struct {
	Message string `json:"message" doc:"the text shown"`
}

// Log shows a message on the console and in the journal.
var Log = actions.Define(actions.Info{
	Name:    "log",
	Summary: "show a message on the console and record it in the journal",
	Example: "- action: log\n  with: { message: \"GPU ${{ steps.gpu.id }} at $${{ steps.gpu.price }}/h\" }",
}, func(ctx context.Context, env *actions.Env, p *LogParams) (*LogOutputs, error) {
	env.Logf("%s", p.Message)
	return &LogOutputs{Message: p.Message}, nil
})
