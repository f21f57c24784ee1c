// Command scn-agent is scn's data plane on a machine (internal/agent): scn
// copies it to an instance, starts it as `scn-agent agent` over SSH and
// speaks JSON lines with it on stdin and stdout. It is small and static
// (CGO_ENABLED=0) and links no cloud SDK: it never holds the store's keys,
// only the short-lived URLs scn presigns. `make build` builds it for
// linux/amd64 and linux/arm64 beside bin/scn.
package main

import (
	"fmt"
	"os"

	"github.com/scnlabs/scn/internal/agent"

	// Trusted roots for machines whose image has none (a bare container
	// without ca-certificates): used only when the system has no roots.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "agent" {
		fmt.Fprintln(os.Stderr, "usage: scn-agent agent\n(scn starts it over SSH and speaks JSON lines with it on stdin and stdout; it is not meant to be run by hand)")
		os.Exit(2)
	}
	os.Exit(agent.Main())
}
