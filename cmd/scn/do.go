package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/runner"
)

func newDoCmd(g *globals) *cobra.Command {
	var with []string
	var undo bool
	cmd := &cobra.Command{
		Use:   "do ACTION [--with key=value]...",
		Short: "Run one action ad hoc and print its outputs as JSON (what it creates is kept unless --undo)",
		Example: "  scn do gpu.offers --with gpu=RTX_4090\n  scn do instance.create --with gpu=RTX_4090\n" +
			"  scn do ssh.exec --with instance=l-3f9a2c1b --with command='nvidia-smi'\n  scn do instance.destroy --with id=l-3f9a2c1b",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]any{}
			for _, kv := range with {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return exitWith(2, "--with %q: write --with key=value", kv)
				}
				params[k] = actions.ParseScalar(v)
			}
			c, err := runner.Check(runner.AdHoc(args[0], params, !undo), builtin.Registry())
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return exitWith(2, "nothing was run")
			}
			ctx := cmd.Context()
			tgt, err := openTarget(ctx, g)
			if err != nil {
				return exitWith(2, "target %s: %v", g.target, err)
			}
			defer tgt.Close()
			// The console goes to stderr: stdout carries the outputs as JSON.
			// The outputs are the record: no run files.
			s, err := session.New(session.Options{Target: tgt, Out: os.Stderr, Console: consoleOptions(g, os.Stderr), NoRunFiles: true})
			if err != nil {
				return exitWith(2, "%v", err)
			}
			defer s.Close()
			ctx, stop := interruptible(ctx, s)
			defer stop()
			run, err := s.RunOne(ctx, c)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return exitWith(2, "nothing was run")
			}
			j := run.Journal
			st := j.Steps[0]
			out := s.Mask().Writer(cmd.OutOrStdout())
			defer out.Close()
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if st.Outputs != nil {
				if err := enc.Encode(st.Outputs); err != nil {
					return err
				}
			}
			if j.ExitCode != 0 {
				return exitWith(j.ExitCode, "%s: %s", args[0], j.Error)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&with, "with", "w", nil, "a parameter: key=value (values typed like YAML: 3, true, [a, b], {k: v})")
	cmd.Flags().BoolVar(&undo, "undo", false, "destroy what the action created before exiting")
	return cmd
}
