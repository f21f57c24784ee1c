// Package md5check proves that files on a machine hold the bytes recorded
// for them: it hashes them with md5sum on the machine, in one remote
// session whatever their number, and compares each with its recorded MD5.
// files.verify, snapshot.restore (verify) and failover.restore all check
// through it, so a missing, altered, unreadable or replaced file gets the
// same verdict and the same words everywhere ("✓ Valid", "✗ File
// missing", "✗ MD5 mismatch" with Expected/Got, "Files validated: n/m").
package md5check

import (
	"context"
	"fmt"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/remote"
)

// Verdicts of one file.
const (
	Valid    = "valid"
	Missing  = "missing"
	Mismatch = "mismatch"
)

// Result is the verdict on one file.
type Result struct {
	Path     string `json:"path" doc:"path checked on the machine"`
	Status   string `json:"status" doc:"valid, missing or mismatch"`
	Expected string `json:"expected" doc:"recorded MD5"`
	Got      string `json:"got" doc:"MD5 found on the machine; empty when missing, (unreadable) or (not a regular file) when it could not be hashed"`
}

// Report sums up a verification.
type Report struct {
	Results    []Result
	Total      int
	Valid      int
	Missing    int
	Mismatched int
}

// Want is a file to check: where it should be on the machine and the MD5
// recorded for it.
type Want struct {
	Path string
	MD5  string
}

// Check hashes the wanted files on the machine in one round trip and
// compares each with its recorded MD5; Results are in the order of want.
// Missing or altered files are verdicts, not errors; an error means the
// check itself could not be made.
func Check(ctx context.Context, x remote.Execer, want []Want) (*Report, error) {
	if len(want) == 0 {
		return nil, fmt.Errorf("no files to verify")
	}
	paths := make([]string, len(want))
	for i, w := range want {
		paths[i] = w.Path
	}
	got, err := Inspect(ctx, x, paths)
	if err != nil {
		return nil, err
	}
	r := &Report{Total: len(want)}
	for i, f := range want {
		res := Result{Path: paths[i], Expected: strings.ToLower(f.MD5)}
		switch g := got[i]; g.State {
		case StateOK:
			res.Got = g.MD5
			if strings.EqualFold(g.MD5, f.MD5) {
				res.Status = Valid
			} else {
				res.Status = Mismatch
			}
		case StateNotFile:
			res.Status, res.Got = Missing, "(not a regular file)"
		case StateUnreadable:
			res.Status, res.Got = Mismatch, "(unreadable)"
		default:
			res.Status = Missing
		}
		switch res.Status {
		case Valid:
			r.Valid++
		case Missing:
			r.Missing++
		default:
			r.Mismatched++
		}
		r.Results = append(r.Results, res)
	}
	return r, nil
}

// Success is true when every file is valid.
func (r *Report) Success() bool { return r.Valid == r.Total && r.Total > 0 }

// Rate is the percentage of valid files.
func (r *Report) Rate() float64 {
	if r.Total == 0 {
		return 0
	}
	return 100 * float64(r.Valid) / float64(r.Total)
}

// Failed lists the paths that are not valid.
func (r *Report) Failed() []string {
	return r.paths(func(status string) bool { return status != Valid })
}

// Paths lists the paths whose verdict is status (Missing, Mismatch), in
// order; never nil, so outputs show [] rather than null.
func (r *Report) Paths(status string) []string {
	return r.paths(func(s string) bool { return s == status })
}

func (r *Report) paths(keep func(status string) bool) []string {
	out := []string{}
	for _, res := range r.Results {
		if keep(res.Status) {
			out = append(out, res.Path)
		}
	}
	return out
}

// maxValidLines caps the ✓ lines in the log; failures are always shown.
const maxValidLines = 200

// Lines renders the report as the seed's validator printed it: a line per
// file (failures with Expected/Got), then the count and the rate.
func (r *Report) Lines() []string {
	var out []string
	shown := 0
	for _, res := range r.Results {
		switch res.Status {
		case Valid:
			if shown < maxValidLines {
				out = append(out, "✓ Valid  "+res.Path)
			}
			shown++
		case Missing:
			out = append(out, "✗ File missing  "+res.Path)
		default:
			out = append(out, "✗ MD5 mismatch  "+res.Path, "   Expected: "+res.Expected, "   Got:      "+res.Got)
		}
	}
	if shown > maxValidLines {
		out = append(out, fmt.Sprintf("✓ … and %d more valid files", shown-maxValidLines))
	}
	return append(out,
		fmt.Sprintf("Files validated: %d/%d", r.Valid, r.Total),
		fmt.Sprintf("Success rate: %.1f%%", r.Rate()))
}

// Err names the files that failed, nil when all are valid.
func (r *Report) Err() error {
	if r.Success() {
		return nil
	}
	missing, mismatched := r.Paths(Missing), r.Paths(Mismatch)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing: "+listSome(missing, 10))
	}
	if len(mismatched) > 0 {
		parts = append(parts, "MD5 mismatch: "+listSome(mismatched, 10))
	}
	return fmt.Errorf("%d of %d files failed verification; %s", r.Total-r.Valid, r.Total, strings.Join(parts, "; "))
}

// Validation is the journal's form of the report.
func (r *Report) Validation() journal.Validation {
	v := journal.Validation{Success: r.Success(), Total: r.Total, Valid: r.Valid,
		Missing: r.Missing, Mismatched: r.Mismatched}
	for _, res := range r.Results {
		if res.Status != Valid {
			v.Failures = append(v.Failures, journal.FileFailure{Path: res.Path, Problem: res.Status,
				Expected: res.Expected, Got: res.Got})
		}
	}
	return v
}

// listSome joins up to n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
