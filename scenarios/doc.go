// Package scenarios holds the drills scn ships, and smaller examples under
// examples/, as YAML files. It is a Go package only so that
// `go test ./scenarios` runs every one of them on the free local target
// and fails when one no longer ends the way its header says (see
// scenarios_test.go) or leaves anything alive: scenarios that are also
// tests cannot drift from what scn does.
package scenarios
