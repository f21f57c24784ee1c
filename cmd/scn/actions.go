package main

import (
	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/builtin"
)

func newActionsCmd(g *globals) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "actions [NAME]",
		Short: "List the actions steps can run, or document one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := builtin.Registry()
			w := cmd.OutOrStdout()
			switch {
			case markdown:
				actions.WriteMarkdown(w, reg)
			case len(args) == 0:
				actions.WriteList(w, reg)
			default:
				s, ok := reg.Get(args[0])
				if !ok {
					return exitWith(2, "unknown action %q%s", args[0], actions.Hint(args[0], reg.Names()))
				}
				actions.WriteDoc(w, s)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the whole reference as Markdown (docs/actions.md)")

	return cmd
}
