package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/runner"
)

func newValidateCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenarios statically (nothing runs, nothing is created)",
		Long: "Every problem of every file is printed as FILE:LINE:COL: message (with a hint), exit 2.\n" +
			"--format github prints them as GitHub Actions annotations (::error file=…,line=…,col=…::…)\n" +
			"on stdout, so they show inline on a pull request's diff (see docs/github.md).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var scs []*runner.Checked
			var err error
			switch format {
			case "text":
				scs, err = loadAll(args)
			case "github":
				scs, err = loadAllWith(args, func(file string, err error) { writeGitHubAnnotations(cmd.OutOrStdout(), file, err) })
			default:
				return exitWith(2, "--format %q: give text or github", format)
			}
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
	cmd.Flags().StringVar(&format, "format", "text", "how problems are printed: text (FILE:LINE:COL on stderr) or github (workflow-command annotations on stdout)")
	return cmd
}

// loadAll loads and checks every file, printing every problem of every
// file to stderr; any problem makes it fail with exit code 2.
func loadAll(files []string) ([]*runner.Checked, error) {
	return loadAllWith(files, func(_ string, err error) { fmt.Fprintln(os.Stderr, err) })
}

// loadAllWith is loadAll with the problems of each bad file given to report.
func loadAllWith(files []string, report func(file string, err error)) ([]*runner.Checked, error) {
	var out []*runner.Checked
	bad := 0
	for _, f := range files {
		c, err := session.Load(f)
		if err != nil {
			report(f, err)
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
