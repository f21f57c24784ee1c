package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

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
		add(writeJSON(mask, f.json, journals))
	}
	if f.html != "" {
		add(writeHTML(mask, f.html, journals))
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		add(report.AppendGitHubSummary(p, journals, "run files: `"+strings.Join(dirs, "`, `")+"`"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// writeJSON writes the journals as JSON to path, or to stdout for "-" (the
// console is then on stderr, so stdout holds only JSON): one scenario's
// journal is an object, several are an array (report.WriteJSONAll).
func writeJSON(mask *secret.Masker, path string, journals []*journal.Journal) error {
	write := func(w io.Writer) error { return report.WriteJSONAll(w, journals) }
	if path != "-" {
		return mask.WriteFile(path, write)
	}
	mw := mask.Writer(os.Stdout)
	return errors.Join(write(mw), mw.Close())
}

// writeHTML writes one scenario's HTML report to path. With several, path
// is an index page linking each scenario's report, written beside it as
// <stem>-<scenario>.html (htmlPaths).
func writeHTML(mask *secret.Masker, path string, journals []*journal.Journal) error {
	if len(journals) == 1 {
		return mask.WriteFile(path, func(w io.Writer) error { return report.WriteHTML(w, journals[0]) })
	}
	var errs []error
	var entries []report.IndexEntry
	for i, p := range htmlPaths(path, journals) {
		j := journals[i]
		errs = append(errs, mask.WriteFile(p, func(w io.Writer) error { return report.WriteHTML(w, j) }))
		entries = append(entries, report.IndexEntry{Journal: j, Href: filepath.Base(p)})
	}
	errs = append(errs, mask.WriteFile(path, func(w io.Writer) error { return report.WriteIndexHTML(w, entries) }))
	return errors.Join(errs...)
}

// htmlPaths names each scenario's report beside the index page path:
// <stem>-<scenario><ext>, the name reduced to characters safe in a file
// name, and -2, -3 ... after a name already taken (two scenarios may share
// a name), so no report overwrites another.
func htmlPaths(path string, journals []*journal.Journal) []string {
	ext := filepath.Ext(path)
	if ext == "" {
		ext = ".html"
	}
	stem := strings.TrimSuffix(path, filepath.Ext(path))
	taken := map[string]bool{filepath.Clean(path): true}
	out := make([]string, len(journals))
	for i, j := range journals {
		base := stem + "-" + fileSafe(j.Scenario)
		p := base + ext
		for n := 2; taken[p]; n++ {
			p = fmt.Sprintf("%s-%d%s", base, n, ext)
		}
		taken[p] = true
		out[i] = p
	}
	return out
}

// fileSafe keeps letters, digits, '.', '_' and '-' of a scenario name and
// turns anything else (slashes, spaces) into '_'.
func fileSafe(name string) string {
	safe := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, name)
	if safe == "" || strings.Trim(safe, ".") == "" {
		return "scenario"
	}
	return safe
}
