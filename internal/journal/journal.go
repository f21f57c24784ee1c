// Package journal defines the record of one run: every step with its
// parameters, outputs, timings and expectations, the cleanup, the resources
// with their lifetime and cost, and the drill's figures (phases, validation,
// snapshots, standby). The runner fills it; every report (console, JSON,
// JUnit, HTML, metrics.json, CI summary) is rendered from it alone, so a past
// run can be re-rendered from .scn/runs/<run-id>/journal.json.
//
// Field names are a public, stable format documented in docs/journal.md.
package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/atomicfile"
)

// Version of the journal format. Bump only on incompatible changes.
const Version = 1

// Run statuses.
const (
	StatusPassed      = "passed"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted" // SIGINT / SIGTERM
	StatusError       = "error"       // bad input or internal error
)

// Step statuses.
const (
	StepPassed   = "passed"
	StepFailed   = "failed"
	StepSkipped  = "skipped"
	StepCanceled = "canceled" // cut off by the scenario timeout or a signal
)

// Journal is the whole record of a run.
type Journal struct {
	Version     int            `json:"version"`
	RunID       string         `json:"run_id"`
	Scenario    string         `json:"scenario"`
	Description string         `json:"description,omitempty"`
	File        string         `json:"file"`
	Target      string         `json:"target"`
	TargetKind  string         `json:"target_kind"`
	Status      string         `json:"status"`
	Error       string         `json:"error,omitempty"`
	ExitCode    int            `json:"exit_code"`
	StartedAt   time.Time      `json:"started_at"`
	EndedAt     time.Time      `json:"ended_at"`
	Seconds     float64        `json:"seconds"`
	Vars        map[string]any `json:"vars,omitempty"`
	Steps       []Step         `json:"steps"`
	Cleanup     []Undo         `json:"cleanup"`
	Resources   []Resource     `json:"resources"`
	Phases      []Phase        `json:"phases"`
	Cost        Cost           `json:"cost"`
	Validation  *Validation    `json:"validation,omitempty"`
	Snapshots   []Transfer     `json:"snapshots,omitempty"`
	Standby     *Standby       `json:"standby,omitempty"`
	// Recovery is a failover drill's recovery in phases (RecoveryOf).
	Recovery *Recovery `json:"recovery,omitempty"`
	// Metrics are the scenario's report.metrics, evaluated at the end.
	Metrics map[string]any `json:"metrics,omitempty"`
	// Objectives are the scenario's recovery objectives, judged at the end.
	Objectives []Objective `json:"objectives,omitempty"`
	// NegativeControl is the fault a --negative-control run injected and
	// whether the drill saw it; nil on ordinary runs.
	NegativeControl *NegativeControl `json:"negative_control,omitempty"`

	// Hostname is the machine scn ran on (JUnit's testsuite hostname).
	Hostname string `json:"hostname,omitempty"`
	// TraceID is the OpenTelemetry trace the run was exported as (32 hex
	// digits), when an OTLP endpoint was configured.
	TraceID string `json:"trace_id,omitempty"`
}

// Step is one executed (or skipped) step, in scenario order; finally steps follow.
type Step struct {
	Index   int    `json:"index"` // 1-based position among all steps and finally steps
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Action  string `json:"action,omitempty"` // empty for assert steps
	Kind    string `json:"kind"`             // action | assert
	Section string `json:"section"`          // steps | finally
	Line    int    `json:"line"`             // line in the scenario file

	Status          string    `json:"status"`
	ContinueOnError bool      `json:"continue_on_error,omitempty"` // failed, but the run went on
	SkipReason      string    `json:"skip_reason,omitempty"`
	StartedAt       time.Time `json:"started_at,omitzero"`
	EndedAt         time.Time `json:"ended_at,omitzero"`
	Seconds         float64   `json:"seconds"`
	Attempts        int       `json:"attempts,omitempty"` // runs of the action: retry attempts and until polls (steps.<id>.tries)

	With         map[string]any `json:"with,omitempty"`    // parameters after evaluation, secrets masked
	Outputs      any            `json:"outputs,omitempty"` // the action's typed outputs, secrets masked
	Error        string         `json:"error,omitempty"`
	Expectations []Expectation  `json:"expectations,omitempty"`
	Logs         []string       `json:"logs,omitempty"` // lines the step printed (log action, per-file results)
	// FailedCheck: the step failed because a check did not hold (an
	// expect/assert, a file's or a snapshot's hash), not because something broke.
	FailedCheck bool `json:"failed_check,omitempty"`
}

// Expectation is one evaluated expect/assert/until expression.
type Expectation struct {
	Expr   string     `json:"expr"`
	OK     bool       `json:"ok"`
	Error  string     `json:"error,omitempty"`  // evaluation error
	Values []SubValue `json:"values,omitempty"` // sub-expression values
	// Evaluated is Expr with the values it compared in their place:
	// "valid == vars.file_count" → "3 == 3"; "" when it adds nothing.
	Evaluated string `json:"evaluated,omitempty"`
}

// SubValue is the value of one sub-expression of an expectation.
type SubValue struct {
	Expr  string `json:"expr"`
	Value string `json:"value"`
}

// Undo is one cleanup action run at the end (last in, first out).
type Undo struct {
	Step        string    `json:"step"`
	Description string    `json:"description"`
	Resource    string    `json:"resource,omitempty"` // resource id it destroys
	Status      string    `json:"status"`             // done | failed | kept
	Attempts    int       `json:"attempts,omitempty"` // tries made (a failed undo is retried)
	Error       string    `json:"error,omitempty"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	Seconds     float64   `json:"seconds"`
}

// Phase is a named part of the journey (report.phases) with its duration:
// the sum of its steps' seconds.
type Phase struct {
	Name    string   `json:"name"`
	Seconds float64  `json:"seconds"`
	Steps   []string `json:"steps"`
}

// Cost totals the resources.
type Cost struct {
	TotalUSD  float64 `json:"total_usd"`
	Simulated bool    `json:"simulated"` // true when any price came from the local catalogue
	// Estimated is true when any part of the total is scn's estimate
	// rather than a provider's price (GCE without the billing catalogue,
	// storage of snapshots).
	Estimated bool `json:"estimated,omitempty"`
	// PeakPerHour is the highest hourly rate paid at one time.
	PeakPerHour float64 `json:"peak_per_hour"`
}

// Validation is the drill's verdict on the data: from the step named by
// report.validation, else the last files.verify (or verifying restore) step.
type Validation struct {
	Step    string `json:"step"`
	Success bool   `json:"success"`
	Total   int    `json:"total"`
	Valid   int    `json:"valid"`
	// Links and LinksValid count the hard links a restore checked (as
	// links to a file the snapshot holds), apart from the files, so that
	// Valid never exceeds Total. 0 when there were none.
	Links      int           `json:"links,omitempty"`
	LinksValid int           `json:"links_valid,omitempty"`
	Missing    int           `json:"missing"`
	Mismatched int           `json:"mismatched"`
	Failures   []FileFailure `json:"failures,omitempty"`
}

// FileFailure names one file that did not come back intact.
type FileFailure struct {
	Path     string `json:"path"`
	Problem  string `json:"problem"` // missing | mismatch
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
}

// Transfer is one snapshot create or restore, or a standby sync/failover copy.
type Transfer struct {
	Step  string `json:"step"`
	Kind  string `json:"kind"` // snapshot | restore | sync | failover
	ID    string `json:"id,omitempty"`
	Files int    `json:"files"`
	// BytesFiles is the size of the files' contents (0 when the
	// transfer does not know it: standby copies); BytesStream that of
	// the uncompressed tar stream that moved (files, headers, padding),
	// which throughput is measured on: MBPerSec = BytesStream/10⁶/Seconds
	// (internal/units).
	BytesFiles  int64   `json:"bytes_files,omitempty"`
	BytesStream int64   `json:"bytes_stream"`
	BytesStored int64   `json:"bytes_stored,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
	Seconds     float64 `json:"seconds"`
	MBPerSec    float64 `json:"mb_per_s"`
	// Via says how the bytes went: "agent" (straight between the machine
	// and the store) or "scn" (through scn's process over SSH); empty for
	// transfers that do not say (standby copies).
	Via string `json:"via,omitempty"`
	// SCNBytes is how much of the data passed through scn's process.
	SCNBytes int64 `json:"scn_bytes"`
}

// Standby summarises a CPU-standby drill.
type Standby struct {
	ID                string  `json:"id"`
	State             string  `json:"state"`
	SyncCount         int     `json:"sync_count"`
	DetectionSeconds  float64 `json:"detection_seconds,omitempty"`
	MTTRSeconds       float64 `json:"mttr_seconds,omitempty"`
	DataAtRiskSeconds float64 `json:"data_at_risk_seconds,omitempty"` // failure time minus last good sync
	LostFiles         int     `json:"lost_files"`
	Error             string  `json:"error,omitempty"` // e.g. the standby itself died
}

// Negative control verdicts.
const (
	ControlDetected = "detected" // a check failed after the fault: the drill sees it
	ControlExposed  = "exposed"  // the run passed anyway: the drill cannot see it
	ControlError    = "error"    // something broke, or the fault never applied: no verdict
)

// NegativeControl is a run with one fault injected (scn run
// --negative-control KIND), whose verdict is inverted.
type NegativeControl struct {
	Kind       string      `json:"kind"`
	Injections []Injection `json:"injections"`
	Verdict    string      `json:"verdict"`               // detected | exposed | error
	DetectedAt string      `json:"detected_at,omitempty"` // the step (or objective:<name>) that saw it
}

// Injection is the fault applied once, right after a step.
type Injection struct {
	Step string `json:"step"`
	Did  string `json:"did"` // e.g. "altered byte 0 of /workspace/f.txt on instance 101"
}

// Objective statuses.
const (
	ObjectiveMet     = "met"
	ObjectiveMissed  = "missed"
	ObjectiveUnknown = "unknown" // its figures do not exist (the run failed before them)
)

// Objective is one recovery objective (objectives:) and how the run did.
type Objective struct {
	Name   string     `json:"name"`
	Expr   string     `json:"expr"`
	Status string     `json:"status"` // met | missed | unknown
	Values []SubValue `json:"values,omitempty"`
	Error  string     `json:"error,omitempty"` // why it is unknown
}

// Line is the objective in one line, with the values it read:
//
//	objective rto missed: metrics.mttr_seconds = 131.2
func (o Objective) Line() string {
	var parts []string
	for _, v := range o.Values {
		parts = append(parts, v.Expr+" = "+v.Value)
	}
	detail := strings.Join(parts, ", ")
	if detail == "" {
		detail = o.Expr
	}
	if o.Status == ObjectiveUnknown && o.Error != "" {
		detail = o.Error
	}
	return fmt.Sprintf("objective %s %s: %s", o.Name, o.Status, detail)
}

// Write saves j as indented JSON at path, creating its directory.
func Write(path string, j *Journal) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}

// Read loads a journal written by Write.
func Read(path string) (*Journal, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: not a scn journal: %w", path, err)
	}
	if j.Version == 0 || j.RunID == "" {
		return nil, fmt.Errorf("%s: not a scn journal (no version or run_id)", path)
	}
	return &j, nil
}

// UnmarshalJSON reads a Transfer, taking the stream's size from
// `bytes_raw` in journals written before it was named `bytes_stream`, so
// `scn report --history` still shows older runs' sizes.
func (t *Transfer) UnmarshalJSON(b []byte) error {
	type plain Transfer
	var v struct {
		plain
		BytesRaw int64 `json:"bytes_raw"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Transfer(v.plain)
	if t.BytesStream == 0 {
		t.BytesStream = v.BytesRaw
	}
	return nil
}

// FailingStep is the step that failed the run: the first failed step that
// did not continue on error, else the first canceled one; nil when the run
// failed elsewhere (cleanup, budget, bad input) or passed. Every report
// and notice names the same step.
func (j *Journal) FailingStep() *Step {
	for i := range j.Steps {
		if s := &j.Steps[i]; s.Status == StepFailed && !s.ContinueOnError {
			return s
		}
	}
	for i := range j.Steps {
		if s := &j.Steps[i]; s.Status == StepCanceled {
			return s
		}
	}
	return nil
}
