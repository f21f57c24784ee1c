package runner

// Evaluated is evaluated, for the external tests.
var Evaluated = evaluated

// AddSeconds is addSeconds, for the external tests.
var AddSeconds = addSeconds
