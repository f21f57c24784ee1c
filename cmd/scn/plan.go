package main

import (
	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/runner"
)

func newPlanCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "plan FILE...",
		Short: "Show what a scenario would run, create, cost at most, and clean up (nothing runs)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			scs, err := loadAll(args)
			if err != nil {
				return err
			}
			for i, sc := range scs {
				if i > 0 {
					cmd.Println()
				}
				runner.MakePlan(sc, g.target, planPricer(cmd.Context(), g)).Write(cmd.OutOrStdout())
			}
			return nil
		},
	}
}
