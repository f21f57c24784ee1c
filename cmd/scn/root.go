package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	stateDir string
	target   string
	config   string
	quiet    bool
	verbose  bool
	noColor  bool
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "scn",
		Short:         "Run GPU failover drills written as YAML scenarios",
		Long:          "scn provisions GPUs, snapshots their workspace, fails over to new machines, restores,\nverifies every MD5, always cleans up, and reports time and cost.\n\nStart with: scn run scenarios/realtime-sync.yaml   (the free local target)",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("SCN_HOME")
	if def == "" {
		def = ".scn"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.stateDir, "state-dir", def, "where scn keeps its state: keys, sandboxes, store, runs, ledger (env SCN_HOME)")
	pf.StringVarP(&g.target, "target", "t", "local", "target to drive: local, vast, ssh, or one defined in scn.yaml")
	pf.StringVar(&g.config, "config", "scn.yaml", "project config with target definitions (optional)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "show only failures and the verdict")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "show each step's parameters and outputs")
	pf.BoolVar(&g.noColor, "no-color", false, "never use colour (NO_COLOR is honoured too)")
	root.AddCommand(newRunCmd(g), newValidateCmd(g), newPlanCmd(g), newDoCmd(g), newActionsCmd(g), newSchemaCmd(g),
		newCleanupCmd(g), newReportCmd(g), newAgentCmd(), newVersionCmd())
	addCompletions(root, g)
	return root
}

// absState returns the state dir as an absolute path, so sandboxes and
// later commands agree on it whatever their working directory.
func (g *globals) absState() string {
	p, err := filepath.Abs(g.stateDir)
	if err != nil {
		return g.stateDir
	}
	return p
}

// newVersionCmd prints what `scn --version` does, as a subcommand: what a
// container's health check or a CI log runs (`docker run scn version`).
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print scn's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "scn version "+version())
			return err
		},
	}
}

// version is the module version scn was built from (go install), or the
// VCS revision of a local build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	if dirty {
		rev += "+dirty"
	}
	return "devel " + rev
}
