package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
)

// runDir is where a run's files go: --out, else STATE/runs/RUN-ID.
func runDir(g *globals, f *runFlags, j *journal.Journal, many bool) string {
	if f.out == "" {
		return filepath.Join(g.absState(), "runs", j.RunID)
	}
	if many {
		return filepath.Join(f.out, j.RunID)
	}
	return f.out
}

// writeReports writes what --junit, --json, --html and GITHUB_STEP_SUMMARY
// ask for, covering every scenario of the invocation.
func writeReports(s *session, f *runFlags, journals []*journal.Journal, dirs []string) error {
	var errs []string
	add := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if f.junit != "" {
		add(s.mask.WriteFile(f.junit, func(w io.Writer) error { return report.WriteJUnit(w, journals) }))
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
			mw := s.writer(os.Stdout)
			add(write(mw))
			add(mw.Close())
		} else {
			add(s.mask.WriteFile(f.json, write))
		}
	}
	if f.html != "" {
		for _, j := range journals {
			path := f.html
			if len(journals) > 1 {
				ext := filepath.Ext(path)
				path = strings.TrimSuffix(path, ext) + "-" + j.Scenario + ext
			}
			add(s.mask.WriteFile(path, func(w io.Writer) error { return report.WriteHTML(w, j) }))
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
