package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/runner"
)

func newPlanCmd(g *globals) *cobra.Command {
	var vars []string
	cmd := &cobra.Command{
		Use:   "plan FILE...",
		Short: "Show what a scenario would run, create, cost at most, and clean up (nothing runs)",
		Args:  cobra.MinimumNArgs(1),
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
			for i, c := range scs {
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				runner.MakePlan(c, g.target, runner.StaticPricer(cmd.Context(), c, tgt, vs)).Write(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&vars, "var", nil, "set a scenario var, as for run")
	return cmd
}
