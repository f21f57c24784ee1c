package main

import (
	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/schema"
)

func newSchemaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files (generated from the action registry)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := cmd.OutOrStdout().Write(schema.Generate(builtin.Registry()))
			return err
		},
	}
}
