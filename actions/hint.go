package actions

import "github.com/scnlabs/scn/internal/hint"

// Hint returns ` (did you mean "x"?)` when a known name is close to the
// unknown one, or the list of known names when there are few; "" otherwise.
// It is internal/hint.Hint, re-exported for action authors.
func Hint(unknown string, known []string) string { return hint.Hint(unknown, known) }
