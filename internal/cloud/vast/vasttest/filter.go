package vasttest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
)

// matchAll applies VAST's field → {operator: value} filters to a row.
func (f *Fake) matchAll(row map[string]any, q map[string]json.RawMessage) (bool, error) {
	for field, raw := range q {
		if notQueryFields[field] {
			continue
		}
		var ops map[string]any
		if err := json.Unmarshal(raw, &ops); err != nil {
			return false, fmt.Errorf("filter on %s must be an object of operators", field)
		}
		for op, want := range ops {
			ok, err := f.apply(op, row[field], want)
			if err != nil {
				return false, fmt.Errorf("filter on %s: %w", field, err)
			}
			if !ok {
				return false, nil
			}
		}
	}
	return true, nil
}

func (f *Fake) apply(op string, have, want any) (bool, error) {
	switch op {
	case "eq":
		return f.compare(have, want) == 0, nil
	case "neq":
		return f.compare(have, want) != 0, nil
	case "gt":
		return f.compare(have, want) > 0, nil
	case "gte":
		return f.compare(have, want) >= 0, nil
	case "lt":
		return f.compare(have, want) < 0, nil
	case "lte":
		return f.compare(have, want) <= 0, nil
	case "in", "notin":
		list, ok := want.([]any)
		if !ok {
			return false, fmt.Errorf("%s needs a list", op)
		}
		found := false
		for _, v := range list {
			found = found || f.compare(have, v) == 0
		}
		return found == (op == "in"), nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

// compare orders numbers numerically, strings by Options.StringOrder
// (bytewise, as SQL's C collation does, when nil), booleans false < true,
// and null below everything.
func (f *Fake) compare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			if f.opts.StringOrder != nil {
				return f.opts.StringOrder(x, y)
			}
			return strings.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmp.Compare(btoi(x), btoi(y))
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
