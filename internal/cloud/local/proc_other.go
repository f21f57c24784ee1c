//go:build !linux

package local

// killSession is a no-op where processes cannot be listed by session
// without cgo: the sandbox kills its own commands when it stops, and a
// SIGKILLed sandbox's commands die when they next write to their closed
// output.
func killSession(sid int) {}
