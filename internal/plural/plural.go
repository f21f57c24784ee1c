// Package plural writes counts in English with the noun in the right
// number — "1 file", "3 files", "1 entry", "2 entries" — so every message
// scn prints about a count says it one way (console, reports, errors).
package plural

import (
	"strconv"
	"strings"
)

// Count is n and word, made plural by the regular English rule (Noun)
// unless n is 1: Count(1, "sync") is "1 sync", Count(2, "sync") "2 syncs".
func Count(n int, word string) string {
	return Of(n, word, Noun(word))
}

// Of is n with one when n is 1, else with many, for words or phrases the
// regular rule does not fit: Of(n, "file lost", "files lost").
func Of(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Noun is the regular plural of an English noun: +es after s, x, z, ch
// and sh, y after a consonant becomes ies, else +s.
func Noun(word string) string {
	switch {
	case word == "":
		return word
	case strings.HasSuffix(word, "s"), strings.HasSuffix(word, "x"), strings.HasSuffix(word, "z"),
		strings.HasSuffix(word, "ch"), strings.HasSuffix(word, "sh"):
		return word + "es"
	case strings.HasSuffix(word, "y") && len(word) > 1 && !strings.ContainsRune("aeiou", rune(word[len(word)-2])):
		return word[:len(word)-1] + "ies"
	}
	return word + "s"
}
