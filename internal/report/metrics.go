package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// WriteJSON writes the journal itself, indented: the stable public format
// documented in docs/journal.md.
func WriteJSON(w io.Writer, j *journal.Journal) error {
	return writeIndented(w, j)
}

// MetricsFile is metrics.json: the seed's failover_test_metrics.json shape
// (test_name, start_time, gpu_instance_id, snapshot_id, failover_gpu_id,
// test_files_count, timings, cost, validation) plus scn's run identity,
// status, resources and standby figures.
//
// Mapping from the journal:
//   - gpu_instance_id is the first instance resource the run created,
//     failover_gpu_id the second (both "" when absent); gpu_hourly_usd is the
//     first instance's price.
//   - snapshot_id is the first snapshot created (a "snapshot" transfer),
//     else the first snapshot resource.
//   - timings holds <phase>_sec for every phase (report.phases), so the
//     seed's create_files_sec, create_snapshot_sec, failover_sec and
//     validate_sec appear when the scenario names its phases so;
//     total_sec is always there: the run's wall-clock seconds.
//   - test_files_count and validation come from the journal's validation;
//     validation is null when the drill validated nothing.
type MetricsFile struct {
	TestName       string             `json:"test_name"`
	StartTime      string             `json:"start_time"`
	GPUInstanceID  string             `json:"gpu_instance_id"`
	SnapshotID     string             `json:"snapshot_id"`
	FailoverGPUID  string             `json:"failover_gpu_id"`
	TestFilesCount int                `json:"test_files_count"`
	Timings        map[string]float64 `json:"timings"`
	Cost           MetricsCost        `json:"cost"`
	Validation     *MetricsValidation `json:"validation"`

	RunID     string            `json:"run_id"`
	Scenario  string            `json:"scenario"`
	Target    string            `json:"target"`
	Status    string            `json:"status"`
	Error     string            `json:"error,omitempty"`
	Resources []MetricsResource `json:"resources"`

	MTTRSeconds       *float64 `json:"mttr_sec,omitempty"`
	DetectionSeconds  *float64 `json:"detection_sec,omitempty"`
	DataAtRiskSeconds *float64 `json:"data_at_risk_sec,omitempty"`
	LostFiles         *int     `json:"lost_files,omitempty"`

	// Metrics are the scenario's own report.metrics.
	Metrics map[string]any `json:"metrics,omitempty"`
}

// MetricsCost is the seed's cost block, with scn's simulated flag.
type MetricsCost struct {
	GPUHourlyUSD      float64 `json:"gpu_hourly_usd"`
	EstimatedTotalUSD float64 `json:"estimated_total_usd"`
	Simulated         bool    `json:"simulated"`
	// Estimated is true when part of the total is an estimate (a price
	// list, not a bill): cost.estimated of the journal.
	Estimated bool `json:"estimated,omitempty"`
}

// MetricsValidation is the seed's validation block.
type MetricsValidation struct {
	Success        bool   `json:"success"`
	FilesValidated int    `json:"files_validated"`
	FilesTotal     int    `json:"files_total"`
	Error          string `json:"error,omitempty"`
}

// MetricsResource names one thing the run created.
type MetricsResource struct {
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	State   string  `json:"state"`
	CostUSD float64 `json:"cost_usd"`
}

// Metrics is the content of metrics.json for j.
func Metrics(j *journal.Journal) MetricsFile {
	m := MetricsFile{
		TestName: j.Scenario, StartTime: j.StartedAt.UTC().Format(time.RFC3339),
		Timings: map[string]float64{},
		Cost:    MetricsCost{EstimatedTotalUSD: j.Cost.TotalUSD, Simulated: j.Cost.Simulated, Estimated: j.Cost.Estimated},
		RunID:   j.RunID, Scenario: j.Scenario, Target: j.Target, Status: j.Status, Error: j.Error,
		Resources: []MetricsResource{}, Metrics: j.Metrics,
	}
	gpus := rentedGPUs(j)
	if len(gpus) > 0 {
		m.GPUInstanceID, m.Cost.GPUHourlyUSD = gpus[0].ID, gpus[0].PricePerHour
	}
	if len(gpus) > 1 {
		m.FailoverGPUID = gpus[1].ID
	}
	m.SnapshotID = snapshotID(j)
	for _, p := range j.Phases {
		m.Timings[p.Name+"_sec"] = p.Seconds
	}
	m.Timings["total_sec"] = j.Seconds
	if v := j.Validation; v != nil {
		m.TestFilesCount = v.Total
		m.Validation = &MetricsValidation{Success: v.Success, FilesValidated: v.Valid, FilesTotal: v.Total, Error: validationProblem(v)}
	}
	for _, r := range j.Resources {
		m.Resources = append(m.Resources, MetricsResource{ID: r.ID, Kind: r.Kind, State: r.State, CostUSD: r.CostUSD})
	}
	if s := j.Standby; s != nil {
		mttr, detect, risk, lost := s.MTTRSeconds, s.DetectionSeconds, s.DataAtRiskSeconds, s.LostFiles
		m.MTTRSeconds, m.DetectionSeconds, m.DataAtRiskSeconds, m.LostFiles = &mttr, &detect, &risk, &lost
	}
	return m
}

// rentedGPUs are the run's instances but those a fallback or a race rented
// and gave up (journal.ReasonGaveUp), in order: the GPU, then the failover
// one.
func rentedGPUs(j *journal.Journal) []journal.Resource {
	var out []journal.Resource
	for _, r := range resourcesOfKind(j, "instance") {
		if r.DestroyReason != journal.ReasonGaveUp {
			out = append(out, r)
		}
	}
	return out
}

func snapshotID(j *journal.Journal) string {
	for _, t := range j.Snapshots {
		if t.Kind == "snapshot" && t.ID != "" {
			return t.ID
		}
	}
	if s := resourcesOfKind(j, "snapshot"); len(s) > 0 {
		return s[0].ID
	}
	return ""
}

// WriteMetrics writes metrics.json for j, indented.
func WriteMetrics(w io.Writer, j *journal.Journal) error {
	return writeIndented(w, Metrics(j))
}

func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
