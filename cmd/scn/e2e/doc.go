// Package e2e tests the real scn binary as users and CI run it: built once
// by TestMain, started as separate processes in a temporary directory with
// their own state dir, interrupted with real signals, killed with SIGKILL,
// and checked through what they leave on disk — the ledger, the journals,
// the sandbox folders and the process table. Only tests live here; it is a
// package of its own so that its TestMain (which builds the binary) stays
// apart from cmd/scn's in-process tests.
package e2e
