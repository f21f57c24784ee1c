package runner

import (
	"fmt"
	"sort"
	"strings"
)

// Diagnostic is one problem found in a scenario, at a position.
type Diagnostic struct {
	Pos  Pos
	Msg  string
	Hint string // how to fix it, when we can tell
}

func (d *Diagnostic) Error() string {
	s := d.Pos.String() + ": " + d.Msg
	if d.Hint != "" {
		s += "\n    hint: " + d.Hint
	}
	return s
}

// Diagnostics is every problem found in one check, sorted by position. It
// is an error so a failed load/check can be returned as one.
type Diagnostics []*Diagnostic

func (ds Diagnostics) Error() string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	if len(ds) > 1 {
		fmt.Fprintf(&b, "\n%d problems", len(ds))
	}
	return b.String()
}

func (ds Diagnostics) sorted() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return ds
}

// errorf appends a diagnostic.
func (ds *Diagnostics) errorf(pos Pos, format string, args ...any) *Diagnostic {
	d := &Diagnostic{Pos: pos, Msg: fmt.Sprintf(format, args...)}
	*ds = append(*ds, d)
	return d
}

// Merge combines the problems of loading and checking into one sorted
// list, so a user sees every problem of a file at once.
func Merge(errs ...error) error {
	var all Diagnostics
	for _, err := range errs {
		switch e := err.(type) {
		case nil:
		case Diagnostics:
			all = append(all, e...)
		default:
			return err
		}
	}
	if len(all) == 0 {
		return nil
	}
	return dedupe(all.sorted())
}

func dedupe(ds Diagnostics) Diagnostics {
	var out Diagnostics
	seen := map[string]bool{}
	for _, d := range ds {
		if k := d.Error(); !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}
