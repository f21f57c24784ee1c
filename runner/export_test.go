package runner

// Evaluated is evaluated, for the external tests.
var Evaluated = evaluated
