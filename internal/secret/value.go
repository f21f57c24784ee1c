package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Value returns a masked copy of v for the journal: v goes through JSON (so
// json tags and MarshalJSON apply, and the result marshals the same way),
// and every string in the result — map keys included — is masked. A number
// that spells a secret becomes the string Mask. A value JSON cannot encode
// (a channel, a func) becomes its masked fmt %v text.
func (m *Masker) Value(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return m.String(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return m.String(fmt.Sprint(v))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep 64-bit ids and prices exact
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return m.String(string(b))
	}
	return m.walk(tree)
}

func (m *Masker) walk(v any) any {
	switch x := v.(type) {
	case string:
		return m.String(x)
	case json.Number:
		if m.String(x.String()) != x.String() {
			return Mask
		}
		return x
	case []any:
		for i := range x {
			x[i] = m.walk(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			// Two keys masked to the same text keep one value: such keys
			// were secrets themselves, which is already odd.
			out[m.String(k)] = m.walk(e)
		}
		return out
	}
	return v // bool
}
