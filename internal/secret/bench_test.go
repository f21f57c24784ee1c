package secret

import (
	"io"
	"strings"
	"testing"
)

var benchSecrets = []string{"VAST-0123456789abcdef", "K005abcdefghij", "b2-app-key-zyxwvut", "gcp-private-key-line", "pin"}

func BenchmarkStringNoSecret(b *testing.B) {
	m := New(benchSecrets...)
	s := strings.Repeat("instance 42 is running on 127.0.0.1:2222 ", 4)
	b.ReportAllocs()
	for b.Loop() {
		m.String(s)
	}
}

func BenchmarkStringWithSecret(b *testing.B) {
	m := New(benchSecrets...)
	s := "GET /api/v0/instances?api_key=VAST-0123456789abcdef failed: 401"
	b.ReportAllocs()
	for b.Loop() {
		m.String(s)
	}
}

func BenchmarkWriter(b *testing.B) {
	m := New(benchSecrets...)
	chunk := []byte(strings.Repeat("rsync: sent 4096 bytes to /workspace/test-file-7.txt key=K005abcdefghij\n", 50))
	b.SetBytes(int64(len(chunk)))
	w := m.Writer(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		w.Write(chunk)
	}
	w.Close()
}
