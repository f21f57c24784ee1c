package lz4frame

import "math/bits"

// The block format's limits (lz4_Block_format.md, "End of block
// conditions"): a match is at least 4 bytes, the last 5 bytes of a block
// are literals, and the last match starts at least 12 bytes before its end.
const (
	minMatch     = 4
	lastLiterals = 5
	mfLimit      = 12
	maxOffset    = 65535
)

// hashLog is the reference's default table (LZ4_MEMORY_USAGE 14: 4096
// positions): larger tables find more matches but miss the CPU's cache,
// and `lz4 -1`'s ratio is the one the bench compares against.
const hashLog = 12

// skipTrigger makes the scan step grow by one every 64 positions without a
// match, as the reference does: incompressible data is skimmed, not searched.
const skipTrigger = 6

// compressor holds the hash table of one block compression: the position
// last seen for each hash of 5 bytes, or noPos.
type compressor struct{ table [1 << hashLog]int32 }

// noPos marks an empty table slot: farther back than any match may reach,
// so the offset check alone rejects it (one branch less per probe).
const noPos = -(maxOffset + 1)

func hash5(v uint64) uint32 { return uint32(((v << 24) * 889523592379) >> (64 - hashLog)) }

// compress writes src as one LZ4 block into dst and returns its size, or
// 0 when the block would not be smaller than src: the caller stores src
// raw. src is at most a frame block (1 MiB), so positions fit in int32.
//
// Every unchecked load stays within src: the scan stops at limit (a load64
// there ends 4 bytes before src does), candidates are earlier positions of
// this block (the table is cleared per call), and match extension stops at
// matchLimit.
func (c *compressor) compress(src, dst []byte) int {
	n := len(src)
	if n < mfLimit+1 {
		return 0
	}
	for i := range c.table {
		c.table[i] = noPos
	}
	limit, matchLimit := n-mfLimit, n-lastLiterals
	dst = dst[:min(len(dst), n-1)] // n bytes or more: raw is smaller
	e := emitter{dst: dst, src: src}
	c.table[hash5(load64(src, 0))] = 0
	ip := 1
	for {
		// Find a match: hash 5 bytes, look up the last position with that
		// hash, check its 4 bytes; the step grows while nothing matches.
		var ref int
		searches, next := 1<<skipTrigger, ip
		for {
			ip = next
			next = ip + searches>>skipTrigger
			searches++
			if next > limit {
				return e.last(n)
			}
			seq := load64(src, ip)
			h := hash5(seq)
			ref = int(c.table[h])
			c.table[h] = int32(ip)
			if ip-ref <= maxOffset && load32(src, ref) == uint32(seq) {
				break
			}
		}
		// Extend it backwards over the literals that also match.
		for ip > e.anchor && ref > 0 && load8(src, ip-1) == load8(src, ref-1) {
			ip--
			ref--
		}
		for {
			ml := matchLength(src, ip, ref, matchLimit)
			if !e.sequence(ip, ip-ref, ml) {
				return 0
			}
			ip += ml
			if ip > limit {
				return e.last(n)
			}
			// Remember a position inside the match, then try a match
			// right where this one ended before scanning again.
			c.table[hash5(load64(src, ip-2))] = int32(ip - 2)
			seq := load64(src, ip)
			h := hash5(seq)
			ref = int(c.table[h])
			c.table[h] = int32(ip)
			if ip-ref > maxOffset || load32(src, ref) != uint32(seq) {
				ip++
				break
			}
		}
	}
}

// matchLength is how far the bytes at ip repeat those at ref (4 are
// known to), 8 at a time, never reaching into the last literals.
func matchLength(src []byte, ip, ref, matchLimit int) int {
	ml := minMatch
	for ip+ml+8 <= matchLimit {
		if x := load64(src, ip+ml) ^ load64(src, ref+ml); x != 0 {
			return ml + bits.TrailingZeros64(x)>>3
		}
		ml += 8
	}
	for ip+ml < matchLimit && src[ip+ml] == src[ref+ml] {
		ml++
	}
	return ml
}

// emitter writes a block's sequences: literals since anchor, then a match.
type emitter struct {
	dst, src   []byte
	di, anchor int
}

// sequence writes the literals up to ip and a match of ml bytes offset
// back; false when dst (one byte short of the block) would overflow.
func (e *emitter) sequence(ip, offset, ml int) bool {
	lit := ip - e.anchor
	if lit < 15 && ml-minMatch < 15 && e.anchor+16 <= len(e.src) && e.di+19 <= len(e.dst) {
		// The common case in text: a short literal run and a short match,
		// the token's nibbles hold both lengths; word moves, no checks.
		di := e.di
		e.dst[di] = byte(lit<<4 | (ml - minMatch))
		store64(e.dst, di+1, load64(e.src, e.anchor))
		store64(e.dst, di+9, load64(e.src, e.anchor+8))
		di += 1 + lit
		e.dst[di] = byte(offset)
		e.dst[di+1] = byte(offset >> 8)
		e.di, e.anchor = di+2, ip+ml
		return true
	}
	if e.di+1+lit/255+1+lit+2+ml/255+1 > len(e.dst) {
		return false
	}
	tok := e.di
	e.di++
	e.dst[tok] = e.length(lit) << 4
	if lit <= 16 && e.anchor+16 <= len(e.src) && e.di+16 <= len(e.dst) {
		// Short literals, the common case: two word moves, the bytes past
		// lit overwritten by what follows.
		store64(e.dst, e.di, load64(e.src, e.anchor))
		store64(e.dst, e.di+8, load64(e.src, e.anchor+8))
		e.di += lit
	} else {
		e.di += copy(e.dst[e.di:], e.src[e.anchor:ip])
	}
	e.dst[e.di] = byte(offset)
	e.dst[e.di+1] = byte(offset >> 8)
	e.di += 2
	e.dst[tok] |= e.length(ml - minMatch)
	e.anchor = ip + ml
	return true
}

// last writes the final literals and returns the block's size, or 0 when
// it would not be smaller than the input.
func (e *emitter) last(n int) int {
	lit := n - e.anchor
	if e.di+1+lit/255+1+lit > len(e.dst) {
		return 0
	}
	tok := e.di
	e.di++
	e.dst[tok] = e.length(lit) << 4
	e.di += copy(e.dst[e.di:], e.src[e.anchor:])
	return e.di
}

// length writes the bytes of a length beyond the token's 15 (a run of
// 255s and the rest) and returns the token's nibble.
func (e *emitter) length(l int) byte {
	if l < 15 {
		return byte(l)
	}
	for l -= 15; l >= 255; l -= 255 {
		e.dst[e.di] = 255
		e.di++
	}
	e.dst[e.di] = byte(l)
	e.di++
	return 15
}
