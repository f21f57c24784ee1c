package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/agent"
)

// newAgentCmd is the hidden `scn agent`: scn's data plane on a machine
// (internal/agent). scn sends its own executable to an instance when no
// scn-agent binary for the machine lies beside it and the machine's
// OS/arch are scn's own.
func newAgentCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "agent",
		Short:              "scn's data plane on a machine (started by scn over SSH; not for use by hand)",
		Hidden:             true,
		DisableFlagParsing: true,
		Args:               cobra.NoArgs,
		Run:                func(*cobra.Command, []string) { os.Exit(agent.Main()) },
	}
}
