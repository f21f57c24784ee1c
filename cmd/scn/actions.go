package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/builtin"
)

func newActionsCmd(g *globals) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:     "actions [NAME | FAMILY]",
		Short:   "List the actions steps can run, those of a family, or document one",
		Example: "  scn actions\n  scn actions snapshot          # snapshot.create, snapshot.delete ...\n  scn actions snapshot.create",
		Args:    cobra.MaximumNArgs(1),
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
				if !ok && actions.WriteFamily(w, reg, args[0]) {
					return nil
				}
				if !ok {
					return exitWith(2, "unknown action or family %q%s", args[0], actions.Hint(args[0], namesAndFamilies(reg)))
				}
				actions.WriteDoc(w, s)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the whole reference as Markdown (docs/actions.md)")

	return cmd
}

// namesAndFamilies is what scn actions NAME accepts: every action name and
// every family (the part before the dot), for the did-you-mean.
func namesAndFamilies(reg *actions.Registry) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range reg.Names() {
		if f, _, ok := strings.Cut(n, "."); ok && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
		out = append(out, n)
	}
	return out
}
