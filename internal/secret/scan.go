package secret

// This file is the matcher shared by String and Writer, so that masking a
// stream chunk by chunk gives exactly what masking it whole gives.
//
// Every byte covered by any occurrence of any pattern is hidden, and each
// maximal run of hidden bytes becomes one Mask. Taking the union (rather
// than leftmost-longest replacement) matters for overlapping secrets: with
// "abcd" and "cdef" in "abcdef" nothing of either leaks.

// pattern is one byte string to hide. start/end ask for a word boundary on
// that side (short secrets only, see Add).
type pattern struct {
	s          string
	start, end bool
}

// set is an immutable snapshot of the patterns; Add swaps in a new one.
type set struct {
	pats  []pattern
	first [256][]int32 // pattern indexes by first byte
}

// state carries a stream's matching context from one scan to the next.
type state struct {
	prev    int  // last byte consumed, -1 at the start of the stream
	covered int  // leading bytes of the pending input known to be hidden
	inRun   bool // the output ended with a Mask whose run may go on
}

func newState() state { return state{prev: -1} }

// isWord reports bytes that make a word for the boundary rule: ASCII letters,
// digits, '_' and any non-ASCII byte (so UTF-8 text is never split).
func isWord(c int) bool {
	return c >= 0x80 || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// scan masks the decidable prefix of buf, appending the output to dst, and
// returns how many bytes of buf it consumed. A position is decidable once no
// pattern could still match there given more input; unless final, the rest
// is left for the next call. final means buf ends the stream.
func (s *set) scan(st *state, dst, buf []byte, final bool) ([]byte, int) {
	covered := st.covered
	i := 0
	for ; i < len(buf); i++ {
		prev := st.prev
		if i > 0 {
			prev = int(buf[i-1])
		}
		if end, pending := s.matchAt(buf, i, prev, final); pending {
			break
		} else if end > covered {
			covered = end
		}
		if i < covered {
			if !st.inRun {
				dst = append(dst, Mask...)
				st.inRun = true
			}
		} else {
			dst = append(dst, buf[i])
			st.inRun = false
		}
	}
	if i > 0 {
		st.prev = int(buf[i-1])
	}
	st.covered = max(0, covered-i)
	return dst, i
}

// matchAt returns the end of the longest pattern occurring at buf[i], or
// pending when a pattern might occur there but buf ends too soon to tell.
func (s *set) matchAt(buf []byte, i, prev int, final bool) (end int, pending bool) {
	rest := buf[i:]
	for _, k := range s.first[buf[i]] {
		p := &s.pats[k]
		if p.start && isWord(prev) {
			continue
		}
		n := len(p.s)
		if n > len(rest) || (!final && p.end && n == len(rest)) {
			// Too short to decide: pending if what we have agrees.
			if !final && string(rest[:min(n, len(rest))]) == p.s[:min(n, len(rest))] {
				pending = true
			}
			continue
		}
		if string(rest[:n]) != p.s || (p.end && n < len(rest) && isWord(int(rest[n]))) {
			continue
		}
		end = max(end, i+n)
	}
	return end, pending
}
