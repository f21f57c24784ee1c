package runner

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func (l *loader) steps(n *yaml.Node, section string, offset int) []*Step {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d := l.errorf(n, "%s must be a list of steps, got %s", section, kindName(n))
		d.Hint = "start each step with '- ', e.g.\n      - id: gpu\n        action: instance.create"
		return nil
	}
	var out []*Step
	for i, e := range n.Content {
		if s := l.step(resolve(e), offset+i+1, section); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (l *loader) step(n *yaml.Node, index int, section string) *Step {
	s := &Step{Pos: l.pos(n), Index: index, Section: section}
	pairs, ok := l.mapping(n, "a step")
	if !ok {
		return nil
	}
	var actionNode *yaml.Node
	for _, p := range pairs {
		switch p.key {
		case "id":
			s.ID, s.IDGiven, s.IDPos = l.str(p.v, "id"), true, l.pos(p.v)
			l.emptyString(p.v, s.ID, "step id", "give the step an id (gpu_a) or leave id: out")
			if s.ID != "" && !idPattern.MatchString(s.ID) {
				d := l.errorf(p.v, "step id %q is not an identifier", s.ID)
				d.Hint = fmt.Sprintf("use letters, digits and _ so ${{ steps.%s }} parses, e.g. %q", s.ID, suggestID(s.ID))
			}
		case "name":
			s.Name = l.str(p.v, "name")
		case "action":
			s.Action, s.ActionPos, actionNode = l.str(p.v, "action"), l.pos(p.v), p.v
			l.emptyString(p.v, s.Action, "action", "run `scn actions` to list them") // "" would run as an empty assert
		case "with":
			if resolve(p.v).Kind != yaml.MappingNode {
				l.errorf(p.v, "with: must be a mapping of parameters, got %s", kindName(resolve(p.v)))
				s.withBad = true
				continue
			}
			s.With = l.value(p.v)
		case "expect":
			s.Expect = l.exprList(p.v, "expect")
		case "assert":
			s.Assert = l.exprList(p.v, "assert")
		case "if":
			s.If = l.bareExpr(p.v, "if")
		case "timeout":
			s.Timeout = l.stepDuration(s, p.v, "timeout")
		case "retry":
			s.Retry = l.retry(s, p.v)
		case "until":
			s.Until = l.until(s, p.v)
		case "continue_on_error":
			s.ContinueOnError = l.boolean(p.v, "continue_on_error")
		case "keep":
			s.Keep, s.KeepPos = l.boolean(p.v, "keep"), l.pos(p.k)
		default:
			l.unknownKey(p, "a step", stepKeys)
		}
	}
	switch {
	case s.Action == "" && len(s.Assert) == 0 && actionNode == nil:
		d := l.errorf(n, "this step has neither action: nor assert:")
		d.Hint = "every step runs an action (action: instance.create) or checks something (assert: EXPR)"
	case s.Action != "" && len(s.Assert) > 0:
		l.errorf(n, "a step has either action: or assert:, not both")
	case s.Action == "" && s.With != nil:
		l.errorf(n, "with: is given but there is no action: to pass it to")
	}
	if s.Action == "" && (s.Retry != nil || s.Until != nil || s.Keep) {
		l.errorf(n, "retry:, until: and keep: apply to action steps only")
	}
	if !s.IDGiven {
		kind := s.Action
		if kind == "" {
			kind = "assert"
		}
		s.ID = fmt.Sprintf("%s#%d", kind, index)
	}
	return s
}

// suggestID turns gpu-a into gpu_a.
func suggestID(id string) string {
	var b strings.Builder
	for i, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// retry reads `retry: 3` or `retry: {attempts, delay, backoff, max_delay}`.
func (l *loader) retry(s *Step, n *yaml.Node) *Retry {
	n = resolve(n)
	r := &Retry{Backoff: 2}
	if n.Kind == yaml.ScalarNode {
		r.Attempts = l.integer(n, "retry")
	} else {
		pairs, ok := l.mapping(n, "retry")
		if !ok {
			return nil
		}
		attemptsReported := false // a bad or misspelt attempts: said already
		for _, p := range pairs {
			switch p.key {
			case "attempts":
				var ok bool
				r.Attempts, ok = l.integerOK(p.v, "retry.attempts")
				attemptsReported = !ok
			case "delay":
				r.Delay = l.stepDuration(s, p.v, "retry.delay")
			case "backoff":
				var ok bool
				if r.Backoff, ok = l.numberOK(p.v, "retry.backoff"); ok && r.Backoff < 1 {
					l.errorf(p.v, "retry.backoff must be at least 1 (the delay multiplier between attempts)")
				}
			case "max_delay":
				r.MaxDelay = l.stepDuration(s, p.v, "retry.max_delay")
			default:
				l.unknownKey(p, "retry", retryKeys)
				attemptsReported = attemptsReported || !hasKey(pairs, "attempts")
			}
		}
		if attemptsReported {
			return r
		}
	}
	if r.Attempts < 1 {
		d := l.errorf(n, "retry needs attempts of at least 1 (the total number of tries)")
		d.Hint = "retry: {attempts: 3, delay: 5s}"
	}
	return r
}

// until reads `until: EXPR` or `until: {expr, interval, timeout}`.
func (l *loader) until(s *Step, n *yaml.Node) *Until {
	n = resolve(n)
	u := &Until{}
	if n.Kind == yaml.ScalarNode {
		u.Expr = l.bareExpr(n, "until")
	} else {
		pairs, ok := l.mapping(n, "until")
		if !ok {
			return nil
		}
		for _, p := range pairs {
			switch p.key {
			case "expr":
				u.Expr = l.bareExpr(p.v, "until.expr")
			case "interval":
				u.Interval = l.stepDuration(s, p.v, "until.interval")
			case "timeout":
				u.Timeout = l.stepDuration(s, p.v, "until.timeout")
			default:
				l.unknownKey(p, "until", untilKeys)
			}
		}
		if u.Expr == nil && len(pairs) > 0 {
			l.errorf(n, "until needs expr: (the condition to wait for)")
		}
	}
	return u
}

// stepDuration reads a duration of step s; a ${{ }} one is kept in
// s.DurationExprs under what, to be computed when the step starts.
func (l *loader) stepDuration(s *Step, n *yaml.Node, what string) time.Duration {
	d, e := l.durationOrExpr(n, what)
	if e != nil {
		if s.DurationExprs == nil {
			s.DurationExprs = map[string]*Expr{}
		}
		s.DurationExprs[what] = e
	}
	return d
}
