// Package cli tests the real scn binary as users and CI run it: built on
// first use by internal/testbin (with -race when the tests run under -race,
// so every scn and sandbox process is race-checked too), started as
// separate processes in a temporary directory with their own state dir,
// interrupted with real signals, killed with SIGKILL, and checked through
// what they leave on disk — the ledger, the journals, the sandbox folders
// and the process table. Only tests live here; it is a package of its own
// so that driving the binary from outside stays apart from cmd/scn's
// in-process tests.
package cli
