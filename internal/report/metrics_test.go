package report

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

func TestMetricsGolden(t *testing.T) {
	for _, d := range drills() {
		t.Run(d.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteMetrics(&b, d.j); err != nil {
				t.Fatal(err)
			}
			golden(t, "metrics_"+d.name+".golden", b.Bytes())
		})
	}
}

// TestMetricsSeedShape checks the keys a consumer of the seed's
// failover_test_metrics.json reads, with their values from the journal.
func TestMetricsSeedShape(t *testing.T) {
	j := fixture.Passing()
	var b bytes.Buffer
	if err := WriteMetrics(&b, j); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"test_name", "start_time", "gpu_instance_id", "snapshot_id", "failover_gpu_id", "test_files_count", "timings", "cost", "validation"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metrics.json lacks the seed's key %q", k)
		}
	}
	if m["gpu_instance_id"] != "101" || m["failover_gpu_id"] != "102" || m["snapshot_id"] != "realtime-sync-"+j.RunID {
		t.Errorf("resource ids: gpu=%v failover=%v snapshot=%v", m["gpu_instance_id"], m["failover_gpu_id"], m["snapshot_id"])
	}
	timings := m["timings"].(map[string]any)
	for _, k := range []string{"create_files_sec", "create_snapshot_sec", "failover_sec", "validate_sec", "total_sec"} {
		if _, ok := timings[k]; !ok {
			t.Errorf("timings lacks %q: %v", k, timings)
		}
	}
	if timings["total_sec"] != j.Seconds {
		t.Errorf("total_sec = %v, want the run's %v", timings["total_sec"], j.Seconds)
	}
	cost := m["cost"].(map[string]any)
	if cost["gpu_hourly_usd"] != 0.32 || cost["estimated_total_usd"] != j.Cost.TotalUSD || cost["simulated"] != true {
		t.Errorf("cost = %v", cost)
	}
	if v := m["validation"].(map[string]any); v["success"] != true || v["files_validated"] != 3.0 || m["test_files_count"] != 3.0 {
		t.Errorf("validation = %v, test_files_count = %v", v, m["test_files_count"])
	}
	if _, ok := m["mttr_sec"]; ok {
		t.Error("a drill without standby has no mttr_sec")
	}
	sb := Metrics(fixture.Standby())
	if sb.MTTRSeconds == nil || *sb.MTTRSeconds != fixture.Standby().Standby.MTTRSeconds || sb.DetectionSeconds == nil {
		t.Errorf("standby drill: mttr/detection missing or wrong: %+v", sb)
	}
	if total := Metrics(&journal.Journal{Seconds: 12.5}).Timings["total_sec"]; total != 12.5 {
		t.Errorf("total_sec must always be there, got %v", total)
	}
}

// TestJSONRoundTrip: WriteJSON's output is a journal journal.Read accepts,
// equal to the original.
func TestJSONRoundTrip(t *testing.T) {
	for _, d := range drills() {
		var b bytes.Buffer
		if err := WriteJSON(&b, d.j); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "journal.json")
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := journal.Read(path)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		// Compare through JSON: outputs are maps of any, numbers float64.
		var again bytes.Buffer
		WriteJSON(&again, back)
		if !reflect.DeepEqual(b.Bytes(), again.Bytes()) {
			t.Errorf("%s: the journal changes through WriteJSON and journal.Read", d.name)
		}
	}
}

// Metrics read rounded in the reports; the journal keeps them exact.
func TestRoundFigure(t *testing.T) {
	for in, want := range map[float64]string{
		30.174194988: "30.17", 0.627510568: "0.6275", 19.955064704: "19.96", 2: "2", 12345.678: "12346",
		0.000012345: "0.000012", -1.23456: "-1.235", 1e21: "1000000000000000000000", 0.5: "0.5", 100.04: "100",
	} {
		if got := roundFigure(in); got != want {
			t.Errorf("roundFigure(%v) = %q, want %q", in, got, want)
		}
	}
}

// A scenario's metrics read rounded however they are held: a float, or
// the json.Number a journal keeps (masked through JSON, or read back);
// a whole number, an id perhaps, stays as written.
func TestMetricValuesRoundFractionsOnly(t *testing.T) {
	got := map[string]string{}
	for _, kv := range metricValues(map[string]any{"f": 10.645014429, "n": json.Number("0.597885877"),
		"id": json.Number("12345678901234567891"), "s": "text"}) {
		got[kv.Key] = kv.Value
	}
	want := map[string]string{"f": "10.65", "n": "0.5979", "id": "12345678901234567891", "s": "text"}
	if !maps.Equal(got, want) {
		t.Errorf("metric values %v, want %v", got, want)
	}
}

// An instance a fallback rented and gave up is billed (a resource) but is
// not the run's GPU: metrics.json names the machines the steps kept.
func TestMetricsGPUsAreNotTheOnesGivenUp(t *testing.T) {
	j := fixture.Passing()
	given := j.Resources[0]
	given.ID, given.PricePerHour, given.DestroyReason = "100", 9.99, journal.ReasonGaveUp
	j.Resources = append([]journal.Resource{given}, j.Resources...)
	m := Metrics(j)
	if m.GPUInstanceID != "101" || m.FailoverGPUID != "102" || m.Cost.GPUHourlyUSD != 0.32 {
		t.Errorf("gpu %s at %v/h, failover %s; want 101 at 0.32, 102", m.GPUInstanceID, m.Cost.GPUHourlyUSD, m.FailoverGPUID)
	}
}
