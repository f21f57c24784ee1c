package runner

// Evaluated is evaluated, for the external tests.
func Evaluated(src string, scope map[string]any) string { return evaluated(src, scope, nil) }

// AddSeconds is addSeconds, for the external tests.
var AddSeconds = addSeconds
