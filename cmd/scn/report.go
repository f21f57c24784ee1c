package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/session"
)

type reportFlags struct {
	html    string
	json    string
	junit   string
	history bool

	bundle, sign                    string // --bundle F.tar.gz [--sign KEY]
	verifyBundle, allowed, identity string // --verify-bundle F --allowed-signers F [--identity ID]
}

func newReportCmd(g *globals) *cobra.Command {
	f := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "report RUN... | report --history [DIR]",
		Short: "Render past runs: the closing report, HTML, JUnit, or the history of all runs",
		Long: "RUN is a run directory (with journal.json) or a run id under STATE-DIR/runs/.\n" +
			"scn report RUN prints the run's closing report as it was shown when it ended;\n" +
			"--html, --json and --junit also write those reports. With --history, every run found in DIR\n" +
			"(default STATE-DIR/runs) is listed, and --html writes the trend page over them.",
		Example: "  scn report .scn/runs/20261126-182301-3fa9\n  scn report 20261126-182301-3fa9 --html run.html --junit junit.xml\n  scn report 20261126-182301-3fa9 --json - | jq .status\n" +
			"  scn report --history .scn/runs --html history.html\n" +
			"  scn report 20261126-182301-3fa9 --bundle evidence.tar.gz --sign ~/.ssh/id_ed25519\n" +
			"  scn report --verify-bundle evidence.tar.gz --allowed-signers allowed_signers --identity auditor@example.com",
		RunE: func(cmd *cobra.Command, args []string) error {
			// With --json -, stdout carries only the JSON: the report goes to stderr.
			console := os.Stdout
			if f.json == "-" {
				console = os.Stderr
			}
			s := newPrinter(console)
			defer s.close()
			if f.verifyBundle != "" {
				return verifyBundle(s, f)
			}
			if f.history {
				if len(args) > 1 {
					return exitWith(2, "--history takes one directory of runs, not %d", len(args))
				}
				dir := filepath.Join(g.absState(), "runs")
				if len(args) == 1 {
					dir = args[0]
				}
				return reportHistory(s, f, dir)
			}
			if len(args) == 0 {
				return exitWith(2, "which run? give a run directory or a run id (or --history)")
			}
			return reportRuns(g, s, f, args, consoleOptions(g, console))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.html, "html", "", "write the run's HTML report (several runs: an index page linking each; with --history: the trend page) to this file")
	fl.StringVar(&f.json, "json", "", "write the run's journal as JSON to this file (- for stdout, the report then on stderr); several runs: an array")
	fl.StringVar(&f.junit, "junit", "", "write a JUnit XML report of the runs to this file")
	fl.BoolVar(&f.history, "history", false, "work on every run in a directory of runs (default STATE-DIR/runs)")
	fl.StringVar(&f.bundle, "bundle", "", "pack the run's evidence bundle (.tar.gz: reports, manifests, file lists, scenario, SHA256SUMS) into this file")
	fl.StringVar(&f.sign, "sign", "", "with --bundle: sign SHA256SUMS with this OpenSSH private key (passphrase asked, or SCN_SIGN_PASSPHRASE)")
	fl.StringVar(&f.verifyBundle, "verify-bundle", "", "check an evidence bundle: its sums and its signature by a key of --allowed-signers")
	fl.StringVar(&f.allowed, "allowed-signers", "", "with --verify-bundle (required): ssh-keygen's allowed_signers file of the keys trusted to sign")
	fl.StringVar(&f.identity, "identity", "", "with --verify-bundle: the principal that must have signed (default: any in --allowed-signers)")
	return cmd
}

// findJournal resolves RUN: a run directory, a journal file, or a run id.
func findJournal(g *globals, run string) (string, error) {
	for _, p := range []string{run, filepath.Join(run, "journal.json"), filepath.Join(g.absState(), "runs", run, "journal.json")} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no run %q: neither a directory with a journal.json nor a run id under %s",
		run, filepath.Join(g.absState(), "runs"))
}

func reportRuns(g *globals, s *printer, f *reportFlags, runs []string, opts report.Options) error {
	var journals []*journal.Journal
	for _, run := range runs {
		path, err := findJournal(g, run)
		if err != nil {
			return exitWith(2, "%v", err)
		}
		j, err := journal.Read(path)
		if err != nil {
			return exitWith(2, "reading run %s: %v", run, err)
		}
		journals = append(journals, j)
		if f.bundle != "" {
			if len(runs) > 1 {
				return exitWith(2, "--bundle packs one run: give one run")
			}
			if err := packBundle(s, f, filepath.Dir(path)); err != nil {
				return err
			}
		}
	}
	for i, j := range journals {
		if i > 0 {
			fmt.Fprintln(s.out)
		}
		if err := report.WriteSummary(s.out, j, opts); err != nil {
			return err
		}
	}
	if f.html != "" {
		if err := writeHTML(s.mask, f.html, journals); err != nil {
			return exitWith(1, "%v", err)
		}
	}
	if f.json != "" {
		if err := writeJSON(s.mask, f.json, journals); err != nil {
			return exitWith(1, "%v", err)
		}
	}
	return writeJUnit(s, f, journals)
}

func reportHistory(s *printer, f *reportFlags, dir string) error {
	journals, skipped, err := report.LoadHistory(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return exitWith(2, "no runs: %s does not exist", dir)
	}
	if err != nil {
		return exitWith(2, "%v", err)
	}
	for _, e := range skipped {
		fmt.Fprintln(os.Stderr, "scn report:", s.mask.String(e.Error()))
	}
	if len(journals) == 0 {
		return exitWith(1, "no readable run in %s", dir)
	}
	if f.html != "" {
		if err := s.mask.WriteFile(f.html, func(w io.Writer) error { return report.WriteHistoryHTML(w, journals) }); err != nil {
			return exitWith(1, "%v", err)
		}
	}
	if f.json != "" {
		if err := writeJSON(s.mask, f.json, journals); err != nil {
			return exitWith(1, "%v", err)
		}
	}
	if err := writeJUnit(s, f, journals); err != nil {
		return err
	}
	runs := make([]*session.Run, len(journals))
	for i, j := range journals {
		// Runs are in <dir>/<run-id>/ unless --out put them elsewhere.
		where := filepath.Join(dir, j.RunID)
		if _, err := os.Stat(where); err != nil {
			where = "run " + j.RunID
		}
		runs[i] = &session.Run{Name: j.Scenario, Journal: j, Dir: where}
	}
	fmt.Fprintf(s.out, "%s in %s, oldest first\n", plural.Count(len(journals), "run"), dir)
	writeRunTable(s.out, runs)
	report.WriteRecoveryHistory(s.out, journals)
	return nil
}

func writeJUnit(s *printer, f *reportFlags, journals []*journal.Journal) error {
	if f.junit == "" {
		return nil
	}
	if err := s.mask.WriteFile(f.junit, func(w io.Writer) error { return report.WriteJUnit(w, journals) }); err != nil {
		return exitWith(1, "%v", err)
	}
	return nil
}
