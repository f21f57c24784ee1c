// Package hint suggests the name a user probably meant when they typed one
// scn does not know (an action, a parameter, a key in scn.yaml). It is a
// leaf package so that every layer — actions, targets, the CLI — can give
// the same "did you mean" without importing each other.
package hint

import (
	"fmt"
	"strings"
)

// Hint returns ` (did you mean "x"?)` when a known name is close to the
// unknown one, or the list of known names when there are few; "" otherwise.
func Hint(unknown string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := distance(unknown, k); d < bestD {
			best, bestD = k, d
		}
	}
	limit := max(2, len(unknown)/3)
	if best != "" && bestD <= limit {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(known) > 0 && len(known) <= 12 {
		return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
	}
	return ""
}

// distance is the Levenshtein edit distance, with a transposition counting
// as one edit (the typo users actually make: "isntance").
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
