// Package e2e holds end-to-end tests of scn's drills on the paid and
// own-machine targets, with nothing but loopback: the vast target against
// the VAST API fake (vasttest) handing out real SSH servers and the B2
// store as gofakes3 over HTTPS behind the B2 guard (s3test), its CPU
// standby against the Compute Engine fake (gcptest, with its OAuth token
// endpoint) handing out SSH servers of their own, the ssh target against
// real SSH servers listed in a scn.yaml the test writes, and the scn binary
// itself for the paid-run guard. The package has no code of its own:
// everything is in its _test.go files, so that `go test ./e2e` is the one
// command that runs these drills.
package e2e
