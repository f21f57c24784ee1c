package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
)

// Test actions exercise the executor's mechanics with real side effects
// (files on disk stand for created resources) so undo, keep and
// cleanup-on-failure can be observed from outside the runner.

// world is where test resources live and what undos did, in order.
type world struct {
	dir    string
	mu     sync.Mutex
	undone []string
}

func (w *world) undoneList() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.undone...)
}

type createParams struct {
	Name      string         `json:"name" required:"true"`
	FailAfter bool           `json:"fail_after" doc:"fail after the resource exists"`
	FailUndo  bool           `json:"fail_undo"`
	FlakyUndo bool           `json:"flaky_undo" doc:"the first destroy fails, the next works"`
	Price     float64        `json:"price"`
	Count     int            `json:"count"`
	Items     []any          `json:"items"`
	Obj       map[string]any `json:"obj"`
	SentPerGB float64        `json:"sent_per_gb" doc:"the provider bills what it sends, USD per GB"`
}

type createOutputs struct {
	ID    string         `json:"id"`
	Path  string         `json:"path"`
	Count int            `json:"count"`
	Items []any          `json:"items"`
	Obj   map[string]any `json:"obj"`
}

type counterParams struct {
	Key      string `json:"key" default:"c"`
	FailLess int    `json:"fail_less_than" doc:"fail while the counter is below this"`
}

type counterOutputs struct {
	N int `json:"n"`
}

type sendParams struct {
	On       string `json:"on" required:"true"`
	Bytes    int64  `json:"bytes"`
	Key      string `json:"key" default:"s"`
	FailLess int    `json:"fail_less" doc:"fail, after sending, while the calls so far are fewer"`
	Hold     bool   `json:"hold" doc:"after sending, wait until cancelled: a transfer still going"`
}

// sendOutputs are a transfer's: every call sends Bytes from On (through
// Env.Moved, as they cross), and n counts the calls, so expect and until
// can ask for another.
type sendOutputs struct {
	N int `json:"n"`
}

type blockParams struct{}
type blockOutputs struct {
	Done bool `json:"done"`
}

type panicParams struct{}
type panicOutputs struct{}

type verifyParams struct {
	Check bool `json:"check" doc:"verify; false only copies, like snapshot.restore verify: false"`
	Lost  bool `json:"lost" doc:"one of the three files did not come back, yet the step passes"`
}

type verifyOutputs struct {
	Checked bool `json:"checked"`
	Lost    bool `json:"lost"`
}

// Validation implements actions.ValidationReport: three files, all valid
// (or one missing, with lost), when it checked; nothing was validated
// otherwise.
func (o *verifyOutputs) Validation() (journal.Validation, bool) {
	if o.Lost {
		return journal.Validation{Total: 3, Valid: 2, Missing: 1}, o.Checked
	}
	return journal.Validation{Success: true, Total: 3, Valid: 3}, o.Checked
}

func registry(w *world) *actions.Registry {
	create := actions.Define(actions.Info{Name: "test.create", Summary: "create a file resource", Creates: "instance"},
		func(ctx context.Context, env *actions.Env, p *createParams) (*createOutputs, error) {
			pend, err := env.Begin("instance", "test", "", p.Name)
			if err != nil {
				return nil, err
			}
			path := filepath.Join(w.dir, p.Name)
			if err := os.WriteFile(path, []byte(env.RunID), 0o644); err != nil {
				pend.Failed(err)
				return nil, err
			}
			h := pend.Created(p.Name, p.Price, true, nil, func(ctx context.Context, reason string) error {
				if p.FailUndo {
					return errors.New("provider refused to destroy " + p.Name)
				}
				if p.FlakyUndo {
					p.FlakyUndo = false
					return errors.New("503 from the provider")
				}
				w.mu.Lock()
				w.undone = append(w.undone, p.Name)
				w.mu.Unlock()
				return os.RemoveAll(path)
			})
			h.Traffic(p.SentPerGB, 0, "")
			out := &createOutputs{ID: p.Name, Path: path, Count: p.Count, Items: p.Items, Obj: p.Obj}
			if p.FailAfter {
				return out, fmt.Errorf("created %s but it never became ready", p.Name)
			}
			return out, nil
		})
	counter := actions.Define(actions.Info{Name: "test.counter", Summary: "count calls"},
		func(ctx context.Context, env *actions.Env, p *counterParams) (*counterOutputs, error) {
			n := env.Shared.Load("counter:"+p.Key, func() any { return new(atomic.Int64) }).(*atomic.Int64).Add(1)
			if int(n) < p.FailLess {
				return nil, fmt.Errorf("flaky failure %d", n)
			}
			return &counterOutputs{N: int(n)}, nil
		})
	send := actions.Define(actions.Info{Name: "test.send", Summary: "send bytes from an instance"},
		func(ctx context.Context, env *actions.Env, p *sendParams) (*sendOutputs, error) {
			n := env.Shared.Load("send:"+p.Key, func() any { return new(atomic.Int64) }).(*atomic.Int64).Add(1)
			env.Moved(p.On)(p.Bytes, 0)
			if p.Hold {
				<-ctx.Done()
				return nil, context.Cause(ctx)
			}
			if int(n) < p.FailLess {
				return nil, fmt.Errorf("the link broke after %d bytes", p.Bytes)
			}
			return &sendOutputs{N: int(n)}, nil
		})
	block := actions.Define(actions.Info{Name: "test.block", Summary: "block until cancelled"},
		func(ctx context.Context, env *actions.Env, p *blockParams) (*blockOutputs, error) {
			<-ctx.Done()
			return nil, context.Cause(ctx)
		})
	boom := actions.Define(actions.Info{Name: "test.panic", Summary: "panic"},
		func(ctx context.Context, env *actions.Env, p *panicParams) (*panicOutputs, error) {
			panic("boom")
		})
	verify := actions.Define(actions.Info{Name: "test.verify", Summary: "judge data integrity, or not"},
		func(ctx context.Context, env *actions.Env, p *verifyParams) (*verifyOutputs, error) {
			return &verifyOutputs{Checked: p.Check, Lost: p.Lost}, nil
		})
	specs := []*actions.Spec{create, counter, send, block, boom, verify}
	for _, n := range builtin.Registry().Names() {
		s, _ := builtin.Registry().Get(n)
		specs = append(specs, s)
	}
	return actions.NewRegistry(specs...)
}

// stepSink calls onStart when a step starts.
type stepSink struct {
	event.Discard
	onStart func(id string)
}

func (s *stepSink) StepStarted(st *journal.Step) {
	if s.onStart != nil {
		s.onStart(st.ID)
	}
}
