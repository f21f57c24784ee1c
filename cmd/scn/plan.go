package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/runner"
)

func newPlanCmd(g *globals) *cobra.Command {
	var vars []string
	var md bool
	cmd := &cobra.Command{
		Use:   "plan FILE...",
		Short: "Show what a scenario would run, create, cost at most, prove, and clean up (nothing runs)",
		Long: "scn plan lists each step, what it creates, the worst-case cost, every expect/assert/until\n" +
			"(what a passing run proves) and the cleanup order. --markdown writes the same for a\n" +
			"pull-request comment (see docs/github.md).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := parseVars(vars)
			if err != nil {
				return err
			}
			scs, err := loadAll(cmd.ErrOrStderr(), args)
			if err != nil {
				return err
			}
			tgt, err := openTarget(cmd.Context(), g)
			if err != nil {
				// The plan is still useful without the target: prices are then unknown.
				fmt.Fprintf(os.Stderr, "note: target %s unavailable (%v): prices not looked up\n", g.target, err)
			} else {
				defer tgt.Close()
			}
			w := cmd.OutOrStdout()
			for i, c := range scs {
				if len(vs) > 0 {
					// The values given are checked as scn run would before
					// its first step (runner.New: vars, then the pre-flight,
					// with what the target lacks when it could be opened).
					mask := secret.New() // runner.New adds the target's secrets
					if _, err := runner.New(c, runner.Options{Vars: vs, Masker: mask, Target: tgt}); err != nil {
						return mask.Error(err) // as scn run: errors may quote a secret var
					}
				}
				p := runner.MakePlan(c, g.target, runner.StaticPricer(cmd.Context(), c, tgt, vs))
				switch {
				case md && i > 0:
					fmt.Fprint(w, "\n---\n\n")
				case i > 0:
					fmt.Fprintln(w)
				}
				if md {
					p.WriteMarkdown(w)
				} else {
					p.Write(w)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&vars, "var", nil, "set a scenario var, as for run")
	cmd.Flags().BoolVar(&md, "markdown", false, "write the plan as Markdown, for a pull-request comment")
	return cmd
}
