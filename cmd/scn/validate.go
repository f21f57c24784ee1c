package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/runner"
)

func newValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenarios statically (nothing runs, nothing is created)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			scs, err := loadAll(args)
			if err != nil {
				return err
			}
			for _, c := range scs {
				sc := c.Scenario()
				fmt.Fprintf(cmd.OutOrStdout(), "ok  %s (%s: %d steps", sc.File, sc.Name, len(sc.Steps))
				if len(sc.Finally) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), ", %d finally", len(sc.Finally))
				}
				fmt.Fprintln(cmd.OutOrStdout(), ")")
			}
			return nil
		},
	}
}

// loadAll loads and checks every file, printing every problem of every
// file to stderr; any problem makes it fail with exit code 2.
func loadAll(files []string) ([]*runner.Checked, error) {
	var out []*runner.Checked
	bad := 0
	for _, f := range files {
		c, err := session.Load(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			bad++
			continue
		}
		out = append(out, c)
	}
	if bad > 0 {
		return nil, exitWith(2, "%d of %d scenario files have problems: nothing was run", bad, len(files))
	}
	return out, nil
}
