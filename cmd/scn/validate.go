package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/actions/builtin"
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
	reg := builtin.Registry()
	var out []*runner.Checked
	bad := 0
	for _, f := range files {
		sc, err := runner.LoadFile(f)
		var c *runner.Checked
		if sc != nil {
			var cerr error
			c, cerr = runner.Check(sc, reg)
			err = runner.Merge(err, cerr)
		}
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
