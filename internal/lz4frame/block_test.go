package lz4frame

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// samples are blocks of the kinds a workspace holds, at sizes around the
// format's limits (below mfLimit, odd lengths, a whole block).
func samples() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, BlockSize)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	var text bytes.Buffer
	for i := 0; text.Len() < BlockSize; i++ {
		text.WriteString(`{"id":` + strconv.Itoa(i) + `,"tokens":[` + strconv.Itoa(r.IntN(50000)) + "," + strconv.Itoa(r.IntN(50000)) + "]}\n")
	}
	half := append(append([]byte(nil), text.Bytes()[:BlockSize/2]...), random[:BlockSize/2]...)
	long := bytes.Repeat([]byte("a"), 70000) // runs of 255-byte length extensions
	long = append(long, random[:300]...)     // then literals over 270 bytes
	long = append(long, bytes.Repeat([]byte("xyz"), 9000)...)
	return map[string][]byte{
		"empty": {}, "one": {7}, "twelve": []byte("abcabcabcabc"), "thirteen": []byte("abcabcabcabca"),
		"zeros": make([]byte, BlockSize), "random": random, "text": text.Bytes()[:BlockSize],
		"text-odd": text.Bytes()[:BlockSize-7], "half": half, "long-runs": long,
	}
}

// Every block the compressor writes decodes, with pierrec's decoder, to
// its input; 0 (stored raw) only when it could not shrink it.
func TestCompressDecodes(t *testing.T) {
	for name, src := range samples() {
		var c compressor
		dst := make([]byte, len(src))
		n := c.compress(src, dst)
		switch {
		case n == 0 && (name == "zeros" || name == "text" || name == "long-runs"):
			t.Errorf("%s: stored raw, though it compresses", name)
		case n == 0:
			continue
		case n >= len(src):
			t.Errorf("%s: %d bytes for %d", name, n, len(src))
		}
		out := make([]byte, len(src))
		k, err := lz4.UncompressBlock(dst[:n], out)
		if err != nil || !bytes.Equal(out[:k], src) {
			t.Errorf("%s: decoded %d of %d bytes, %v, equal %v", name, k, len(src), err, bytes.Equal(out[:k], src))
		}
	}
}

func FuzzCompress(f *testing.F) {
	for _, s := range samples() {
		f.Add(s[:min(len(s), 4096)])
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var c compressor
		dst := make([]byte, len(src))
		n := c.compress(src, dst)
		if n == 0 {
			return
		}
		out := make([]byte, len(src))
		k, err := lz4.UncompressBlock(dst[:n], out)
		if err != nil || !bytes.Equal(out[:k], src) {
			t.Fatalf("%d bytes: decoded %d, %v", len(src), k, err)
		}
	})
}

func BenchmarkCompress(b *testing.B) {
	for _, name := range []string{"text", "random"} {
		src := samples()[name]
		dst := make([]byte, lz4.CompressBlockBound(len(src)))
		b.Run("scn/"+name, func(b *testing.B) {
			var c compressor
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				c.compress(src, dst)
			}
		})
		b.Run("pierrec/"+name, func(b *testing.B) {
			var c lz4.Compressor
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				c.CompressBlock(src, dst)
			}
		})
	}
}
