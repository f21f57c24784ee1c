package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/runner"
)

func newValidateCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check scenarios statically (nothing runs, nothing is created)",
		Long: "Check scenarios statically: nothing runs, nothing is created.\n\n" +
			"A directory stands for every *.yaml and *.yml file under it, at any depth,\n" +
			"except in hidden directories, testdata/ directories and the project config (scn.yaml).\n\n" +
			"Every problem of every file is printed as FILE:LINE:COL: message (with a hint), exit 2.\n" +
			"--format github prints them as GitHub Actions annotations (::error file=…,line=…,col=…::…)\n" +
			"on stdout, so they show inline on a pull request's diff (see docs/github.md).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := filesUnder(args, filepath.Base(g.config))
			if err != nil {
				return err
			}
			// Every good file is listed even when another has problems.
			var scs []*runner.Checked
			switch format {
			case "text":
				scs, err = loadAll(cmd.ErrOrStderr(), files)
			case "github":
				scs, err = loadAllWith(files, func(file string, err error) { writeGitHubAnnotations(cmd.OutOrStdout(), file, err) })
			default:
				return exitWith(2, "--format %q: give text or github", format)
			}
			if format == "github" {
				return err // stdout holds only the annotations
			}
			for _, c := range scs {
				sc := c.Scenario()
				fmt.Fprintf(cmd.OutOrStdout(), "ok  %s (%s: %d steps", sc.File, sc.Name, len(sc.Steps))
				if len(sc.Finally) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), ", %d finally", len(sc.Finally))
				}
				fmt.Fprintln(cmd.OutOrStdout(), ")")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "how problems are printed: text (FILE:LINE:COL on stderr) or github (workflow-command annotations on stdout)")
	return cmd
}

// filesUnder expands each directory argument into the scenario files
// under it, in lexical order; a file argument is kept as given whatever
// its name. Hidden directories (.git, .scn, .github), testdata/ (fixtures,
// often broken on purpose) and the project config are skipped: they hold
// YAML that is not a scenario. A directory without any scenario is an
// error, so a mistyped path cannot pass as "nothing wrong".
func filesUnder(args []string, config string) ([]string, error) {
	var out []string
	for _, a := range args {
		info, err := os.Stat(a)
		if err != nil || !info.IsDir() {
			out = append(out, a) // loadAll reports a missing file with the others
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != a && (strings.HasPrefix(name, ".") || name == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			ext := filepath.Ext(name)
			if (ext == ".yaml" || ext == ".yml") && name != config {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, exitWith(2, "scn: reading %s: %v", a, err)
		}
		if len(found) == 0 {
			return nil, exitWith(2, "scn: %s holds no scenario (*.yaml or *.yml): nothing to validate", a)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

// loadAll loads and checks every file, printing every problem of every
// file to stderr; any problem makes it fail with exit code 2 (the files
// that loaded are returned with that error, for scn validate to list).
func loadAll(stderr io.Writer, files []string) ([]*runner.Checked, error) {
	return loadAllWith(files, func(_ string, err error) { fmt.Fprintln(stderr, err) })
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
		return out, exitWith(2, "%d of %d scenario files have problems: nothing was run", bad, len(files))
	}
	return out, nil
}
