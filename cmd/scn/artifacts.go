package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/secret"
)

// runDir is where a run's files go: --out (--out/RUN-ID when several
// scenarios run), else STATE/runs/RUN-ID.
func runDir(g *globals, f *runFlags, runID string, many bool) string {
	if f.out == "" {
		return filepath.Join(g.absState(), "runs", runID)
	}
	if many {
		return filepath.Join(f.out, runID)
	}
	return f.out
}

// writeReports writes what --junit, --json, --html and GITHUB_STEP_SUMMARY
// ask for, covering every scenario of the invocation.
func writeReports(mask *secret.Masker, f *runFlags, journals []*journal.Journal, dirs []string) error {
	var errs []string
	add := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if f.junit != "" {
		add(mask.WriteFile(f.junit, func(w io.Writer) error { return report.WriteJUnit(w, journals) }))
	}
	if f.json != "" {
		write := func(w io.Writer) error {
			if len(journals) == 1 {
				return report.WriteJSON(w, journals[0])
			}
			for _, j := range journals {
				if err := report.WriteJSON(w, j); err != nil {
					return err
				}
			}
			return nil
		}
		if f.json == "-" {
			mw := mask.Writer(os.Stdout)
			add(write(mw))
			add(mw.Close())
		} else {
			add(mask.WriteFile(f.json, write))
		}
	}
	if f.html != "" {
		for _, j := range journals {
			path := f.html
			if len(journals) > 1 {
				ext := filepath.Ext(path)
				path = strings.TrimSuffix(path, ext) + "-" + j.Scenario + ext
			}
			add(mask.WriteFile(path, func(w io.Writer) error { return report.WriteHTML(w, j) }))
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		add(report.AppendGitHubSummary(p, journals, "run files: `"+strings.Join(dirs, "`, `")+"`"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
