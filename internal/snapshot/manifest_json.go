package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// manifest.json is written as json.MarshalIndent(m, "", " ") writes it.
// Encoding the entries is most of that work (~2 µs each), and when an
// agent sends them during the transfer, scn encodes each batch as it
// arrives (entryLines) and only the data fields are left for the end.

// entryLines holds entries encoded as manifest.json lists them: each as
// an element of the indented "entries" array, joined by ",\n".
type entryLines struct {
	buf bytes.Buffer
	n   int // entries encoded
}

func (l *entryLines) add(entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	// One call per batch, not per entry: the array's elements are indented
	// as the manifest's "entries" array lists them; only its brackets go.
	b, err := json.MarshalIndent(entries, " ", " ")
	if err != nil {
		return err
	}
	body, opened := bytes.CutPrefix(b, []byte("[\n"))
	body, closed := bytes.CutSuffix(body, []byte("\n ]"))
	if !opened || !closed {
		return fmt.Errorf("encoding entries: unexpected JSON %.20q", b)
	}
	if l.n > 0 {
		l.buf.WriteString(",\n")
	}
	l.buf.Write(body)
	l.n += len(entries)
	return nil
}

// encodeManifest is manifest.json for m. lines, when set, holds m's
// entries already encoded, all of them in order.
func encodeManifest(m *Manifest, lines *entryLines) ([]byte, error) {
	if lines == nil || lines.n != len(m.Entries) || len(m.Entries) == 0 {
		return json.MarshalIndent(m, "", " ")
	}
	head := *m
	head.Entries = nil
	data, err := json.MarshalIndent(&head, "", " ")
	if err != nil {
		return nil, err
	}
	// The data fields end with `"entries": null` and the closing brace.
	const tail = "null\n}"
	if !bytes.HasSuffix(data, []byte(tail)) {
		return nil, fmt.Errorf("encoding the manifest: it does not end with its entries")
	}
	out := make([]byte, 0, len(data)+lines.buf.Len()+16)
	out = append(out, data[:len(data)-len(tail)]...)
	out = append(out, "[\n"...)
	out = append(out, lines.buf.Bytes()...)
	out = append(out, "\n ]\n}"...)
	return out, nil
}
