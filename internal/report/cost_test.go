package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/report/fixture"
	"github.com/scnlabs/scn/internal/resource"
)

// The run's cost is one number wherever it is shown — the journal,
// metrics.json, the console's closing report and the HTML report — with
// one label saying when it is not a bill.
func TestCostIsOneNumberEverywhere(t *testing.T) {
	j := fixture.Passing()
	// A VAST instance at its dph_total, a standby priced from a table
	// (estimated), a snapshot in B2 (estimated).
	for i := range j.Resources {
		j.Resources[i].Simulated = false
	}
	j.Resources = append(j.Resources, journal.Resource{ID: "scn-snap", Kind: "snapshot", Provider: "store", State: "destroyed",
		PricePerHour: 0.0002, LifetimeSeconds: 30, CostUSD: 0.0002 * 30 / 3600, Estimated: true, PriceSource: "estimated: B2"})
	j.Cost = resource.Totals(j.Resources)
	sum := 0.0
	for _, r := range j.Resources {
		sum += r.CostUSD
	}
	if j.Cost.TotalUSD != sum || !j.Cost.Estimated || j.Cost.Simulated {
		t.Fatalf("totals %+v, want the resources' sum %v, estimated", j.Cost, sum)
	}
	label := report.CostText(j.Cost)
	if !strings.HasSuffix(label, " (estimated)") {
		t.Errorf("label %q does not say estimated", label)
	}
	if m := report.Metrics(j); m.Cost.EstimatedTotalUSD != j.Cost.TotalUSD || !m.Cost.Estimated {
		t.Errorf("metrics.json cost %+v, journal %+v", m.Cost, j.Cost)
	}
	console, html := renderBoth(t, j)
	if n := strings.Count(console.String(), label); n != 2 {
		t.Errorf("console shows %q %d times, want in the total and the verdict:\n%s", label, n, console.String())
	}
	price := strings.TrimSuffix(label, " (estimated)")
	if !strings.Contains(html.String(), ">"+price+"<") || !strings.Contains(html.String(), "estimated") {
		t.Errorf("the HTML report does not show %s marked estimated", price)
	}
}

// Traffic billed by the byte (VAST's bandwidth) is in an instance's cost,
// and the closing report and the HTML report say how much of it and what
// moved, so a cost above lifetime × price is explained.
func TestConsoleSaysWhatTrafficCost(t *testing.T) {
	j := fixture.Passing()
	j.Resources[0].Bandwidth = &journal.Bandwidth{SentBytes: 2_500_000_000, ReceivedBytes: 1_000_000, SentPerGB: 0.02, ReceivedPerGB: 0.01, USD: 0.05001}
	console, html := renderBoth(t, j)
	want := j.Resources[0].Kind + " " + j.Resources[0].ID + "'s cost includes $0.0500 of traffic: 2.5 GB sent, 1.0 MB received"
	if !strings.Contains(console.String(), want) {
		t.Errorf("the closing report does not say %q:\n%s", want, console.String())
	}
	if !strings.Contains(html.String(), "incl. $0.0500 traffic") || !strings.Contains(html.String(), "2.5 GB sent") {
		t.Errorf("the HTML report does not say what the traffic cost")
	}
}

// A standby's egress is priced by scn's estimate (GCP): both reports say
// the traffic's price is an estimate and from where, as they do for a
// machine's price. A machine with no hourly price (a machine type outside
// Google's catalogue) still shows what its traffic cost.
func TestEstimatedTrafficIsSaidSo(t *testing.T) {
	j := fixture.Passing()
	const source = "estimated: Google's Premium Tier internet egress to North America, $0.12/GiB (cloud.google.com/vpc/network-pricing, 2026-09-20)"
	j.Resources[0].PricePerHour, j.Resources[0].CostUSD = 0, 0.1118
	j.Resources[0].Bandwidth = &journal.Bandwidth{SentBytes: 1_000_000_000, SentPerGB: 0.1118, USD: 0.1118, PriceSource: source, Estimated: true}
	console, html := renderBoth(t, j)
	want := "at scn's estimate of its per-GB prices (Google's Premium Tier internet egress to North America"
	if !strings.Contains(console.String(), want) || !strings.Contains(console.String(), "$0.1118  "+j.Resources[0].State) {
		t.Errorf("the closing report does not say %q, or shows no cost in the row:\n%s", want, console.String())
	}
	if !strings.Contains(html.String(), "incl. $0.1118 traffic (estimated)") || !strings.Contains(html.String(), "Premium Tier") {
		t.Errorf("the HTML report does not mark the traffic's price estimated")
	}
}

// renderBoth writes j's closing report and HTML report.
func renderBoth(t *testing.T, j *journal.Journal) (console, html *bytes.Buffer) {
	t.Helper()
	console, html = &bytes.Buffer{}, &bytes.Buffer{}
	if err := report.WriteSummary(console, j, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHTML(html, j); err != nil {
		t.Fatal(err)
	}
	return console, html
}
