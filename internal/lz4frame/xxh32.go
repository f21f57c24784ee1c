package lz4frame

import (
	"encoding/binary"
	"math/bits"
)

// xxh32 is the 32-bit xxHash, seed 0, that LZ4 frames use for their
// header and content checksums, as the xxHash specification defines it
// (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
// The tests check it against the lz4 tool, which verifies both.
type xxh32 struct {
	v     [4]uint32
	total uint64
	mem   [16]byte
	n     int // bytes buffered in mem
}

const (
	prime1 uint32 = 0x9E3779B1
	prime2 uint32 = 0x85EBCA77
	prime3 uint32 = 0xC2B2AE3D
	prime4 uint32 = 0x27D4EB2F
	prime5 uint32 = 0x165667B1
)

func newXXH32() *xxh32 {
	p1, p2 := prime1, prime2 // wrapping, as the specification's arithmetic
	return &xxh32{v: [4]uint32{p1 + p2, p2, 0, -p1}}
}

func round32(acc, lane uint32) uint32 {
	return bits.RotateLeft32(acc+lane*prime2, 13) * prime1
}

func (h *xxh32) stripes(p []byte) {
	v0, v1, v2, v3 := h.v[0], h.v[1], h.v[2], h.v[3]
	for ; len(p) >= 16; p = p[16:] {
		v0 = round32(v0, binary.LittleEndian.Uint32(p))
		v1 = round32(v1, binary.LittleEndian.Uint32(p[4:]))
		v2 = round32(v2, binary.LittleEndian.Uint32(p[8:]))
		v3 = round32(v3, binary.LittleEndian.Uint32(p[12:]))
	}
	h.v = [4]uint32{v0, v1, v2, v3}
}

func (h *xxh32) Write(p []byte) {
	h.total += uint64(len(p))
	if h.n > 0 {
		k := copy(h.mem[h.n:], p)
		h.n += k
		p = p[k:]
		if h.n < 16 {
			return
		}
		h.stripes(h.mem[:])
		h.n = 0
	}
	whole := len(p) &^ 15
	h.stripes(p[:whole])
	h.n = copy(h.mem[:], p[whole:])
}

func (h *xxh32) Sum32() uint32 {
	var acc uint32
	if h.total >= 16 {
		acc = bits.RotateLeft32(h.v[0], 1) + bits.RotateLeft32(h.v[1], 7) + bits.RotateLeft32(h.v[2], 12) + bits.RotateLeft32(h.v[3], 18)
	} else {
		acc = prime5 // seed 0
	}
	acc += uint32(h.total)
	p := h.mem[:h.n]
	for ; len(p) >= 4; p = p[4:] {
		acc = bits.RotateLeft32(acc+binary.LittleEndian.Uint32(p)*prime3, 17) * prime4
	}
	for _, b := range p {
		acc = bits.RotateLeft32(acc+uint32(b)*prime5, 11) * prime1
	}
	acc ^= acc >> 15
	acc *= prime2
	acc ^= acc >> 13
	acc *= prime3
	acc ^= acc >> 16
	return acc
}
