// Package archtest holds the tests that keep scn's layering true; it has
// no code. The rule they check: the language — runner, schema and every
// action — and internal/target (the value actions hold) link no cloud SDK
// (aws-sdk-go-v2, Google's API client, gRPC, cloud.google.com); the SDKs
// come in only through internal/assembly, which builds a target and is
// imported by cmd/ and tests. A failure
// prints the import chains that pull an SDK in, so the line to cut is named.
// Why it matters: before the split (commit 4a89054) `go list -deps ./runner`
// held 557 packages, 164 of them cloud SDK; after it, 201 and none, and a
// cold `go build ./runner` (empty GOCACHE) took 182–228 s of CPU before
// against 62–66 s after, on the project's shared 2-core machine.
package archtest
