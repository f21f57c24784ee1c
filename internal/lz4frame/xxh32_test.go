package lz4frame

import (
	"bytes"
	"encoding/binary"
	"os/exec"
	"testing"
)

// xxh32 agrees with the lz4 tool, whose frames end with the xxh32 of their
// content, for inputs around the 16-byte stripe (none, a few bytes, one
// stripe and a tail, many) whatever the sizes of the writes.
func TestXXH32MatchesTheLZ4Tool(t *testing.T) {
	tool := lz4Tool(t)
	data := stream()
	for _, n := range []int{0, 1, 3, 15, 16, 17, 31, 100, 4099, len(data)} {
		cmd := exec.Command(tool, "-1", "-c")
		cmd.Stdin = bytes.NewReader(data[:n])
		out, err := cmd.Output()
		if err != nil || len(out) < 4 {
			t.Fatalf("lz4 on %d bytes: %v", n, err)
		}
		want := binary.LittleEndian.Uint32(out[len(out)-4:])
		for _, chunk := range []int{1, 7, 16, 1 << 20} {
			h := newXXH32()
			for p := data[:n]; len(p) > 0; p = p[min(chunk, len(p)):] {
				h.Write(p[:min(chunk, len(p))])
			}
			if got := h.Sum32(); got != want {
				t.Errorf("%d bytes in writes of %d: xxh32 %08x, the lz4 tool's %08x", n, chunk, got, want)
			}
		}
	}
}
