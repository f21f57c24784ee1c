package gcptest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Cloud Billing Catalog API as google.golang.org/api/cloudbilling/v1
// calls it: GET /v1/services/{service}/skus?currencyCode=USD&pageSize=…
// &pageToken=…, answering {"skus": [...], "nextPageToken": "..."} with the
// SKU fields Google documents (cloud.google.com/billing/v1/how-tos/catalog-api,
// cloud.google.com/billing/docs/reference/rest/v1/services.skus/list):
// description, category {serviceDisplayName, resourceFamily, resourceGroup,
// usageType}, serviceRegions, pricingInfo [{effectiveTime,
// pricingExpression {usageUnit, baseUnit, baseUnitConversionFactor,
// tieredRates [{startUsageAmount, unitPrice {currencyCode, units, nanos}}]}}].

// ComputeService is Compute Engine's service id in the catalogue.
const ComputeService = "6F81-5844-456A"

// E2Prices are the catalogue's E2 rates in USD, per vCPU-hour and per
// GiB-hour, on demand and Spot. They differ from scn's built-in table on
// purpose: a test can tell which one a price came from.
type E2Prices struct {
	Core, RAM, SpotCore, SpotRAM float64
	Effective                    string // RFC 3339 effectiveTime
}

// DefaultE2Prices are what the fake's catalogue lists unless the test says.
var DefaultE2Prices = E2Prices{Core: 0.022890, RAM: 0.003067, SpotCore: 0.007130, SpotRAM: 0.000955, Effective: "2026-11-01T08:00:00Z"}

// BillingEndpoint is the catalogue's base URL to give the client, as
// gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING takes it.
func (s *Server) BillingEndpoint() string { return s.URL + "/" }

// SetE2Prices changes what the catalogue lists.
func (s *Server) SetE2Prices(p E2Prices) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.e2 = &p
}

// CatalogCalls returns the requests the billing catalogue received (Calls
// holds Compute Engine's).
func (s *Server) CatalogCalls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.catalogCalls...)
}

// DisableBilling makes the catalogue answer as Google does when the Cloud
// Billing API is not enabled in the project: 403 SERVICE_DISABLED.
func (s *Server) DisableBilling() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.billingOff = true
}

// skuPageSize is how many SKUs the fake puts on a page, whatever the
// request asks, so that clients must follow nextPageToken.
const skuPageSize = 3

func (s *Server) skus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	off, prices := s.billingOff, DefaultE2Prices
	if s.e2 != nil {
		prices = *s.e2
	}
	s.mu.Unlock()
	if off {
		writeError(w, http.StatusForbidden, "SERVICE_DISABLED",
			"Cloud Billing API has not been used in project scn-test before or it is disabled.")
		return
	}
	if r.URL.Path != "/v1/services/"+ComputeService+"/skus" || r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The requested URL %s was not found on this server.", r.URL.Path))
		return
	}
	if c := r.URL.Query().Get("currencyCode"); c != "" && c != "USD" {
		writeError(w, http.StatusBadRequest, "badRequest", "this fake lists USD only")
		return
	}
	all := catalogue(prices)
	start := 0
	if tok := r.URL.Query().Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n <= 0 || n >= len(all) {
			writeError(w, http.StatusBadRequest, "badRequest", "Invalid page token.")
			return
		}
		start = n
	}
	end := min(start+skuPageSize, len(all))
	resp := map[string]any{"skus": all[start:end]}
	if end < len(all) {
		resp["nextPageToken"] = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, resp)
}

// catalogue is a slice of Compute Engine's SKUs: the E2 ones scn reads,
// for us-central1 and another region, among others it must skip.
func catalogue(p E2Prices) []map[string]any {
	sku := func(id, desc, group, usage, unit string, regions []string, price float64) map[string]any {
		units := math.Floor(price)
		return map[string]any{
			"name": "services/" + ComputeService + "/skus/" + id, "skuId": id, "description": desc,
			"category": map[string]any{"serviceDisplayName": "Compute Engine", "resourceFamily": familyOf(group),
				"resourceGroup": group, "usageType": usage},
			"serviceRegions": regions, "serviceProviderName": "Google",
			"pricingInfo": []map[string]any{{
				"summary": "", "effectiveTime": p.Effective, "currencyConversionRate": 1,
				"pricingExpression": map[string]any{
					"usageUnit": unit, "usageUnitDescription": unit, "baseUnit": "s", "baseUnitDescription": "second",
					"baseUnitConversionFactor": 3600, "displayQuantity": 1,
					"tieredRates": []map[string]any{{"startUsageAmount": 0, "unitPrice": map[string]any{
						"currencyCode": "USD", "units": strconv.Itoa(int(units)), "nanos": int64(math.Round((price - units) * 1e9))}}},
				},
			}},
		}
	}
	central := []string{"us-central1"}
	europe := []string{"europe-west4"}
	return []map[string]any{
		sku("0001-N1CO-RE00", "N1 Predefined Instance Core running in Americas", "N1Standard", "OnDemand", "h", central, 0.031611),
		sku("CF4E-A0C7-E3BF", "E2 Instance Core running in Americas", "CPU", "OnDemand", "h", central, p.Core),
		sku("E2EU-CORE-0000", "E2 Instance Core running in Netherlands", "CPU", "OnDemand", "h", europe, p.Core*1.1),
		sku("F449-33EC-A5EF", "E2 Instance Ram running in Americas", "RAM", "OnDemand", "GiBy.h", central, p.RAM),
		sku("0002-PDST-0000", "Storage PD Capacity", "PDStandard", "OnDemand", "GiBy.mo", central, 0.04),
		sku("2D3C-A6EE-C7F6", "Spot Preemptible E2 Instance Core running in Americas", "CPU", "Preemptible", "h", central, p.SpotCore),
		sku("9876-E2CO-MMIT", "Commitment v1: E2 Cpu in Americas for 1 Year", "CPU", "Commit1Yr", "h", central, 0.013741),
		sku("A1B2-C3D4-E5F6", "Spot Preemptible E2 Instance Ram running in Americas", "RAM", "Preemptible", "GiBy.h", central, p.SpotRAM),
	}
}

func familyOf(group string) string {
	if strings.HasPrefix(group, "PD") {
		return "Storage"
	}
	return "Compute"
}

// usage is what Compute Engine bills for one VM: its machine type, on
// demand or Spot, from its creation until it stopped (TERMINATED) or was
// deleted.
type usage struct {
	machine string
	spot    bool
	start   time.Time // the VM's creationTimestamp
	end     time.Time // zero while it runs
}

// stopBilling ends VM name's billed time, once. The lock is held.
func (s *Server) stopBilling(name string) {
	if u := s.bills[name]; u != nil && u.end.IsZero() {
		u.end = time.Now()
	}
}

// e2Shapes are the vCPUs and memory (GB) an E2 machine type is billed for
// (cloud.google.com/compute/docs/general-purpose-machines, E2 machine
// types: the shared-core e2-micro, e2-small and e2-medium are billed for
// 0.25, 0.5 and 1 vCPU though they burst to 2).
var e2Shapes = map[string]struct{ vcpus, gb float64 }{
	"e2-micro": {0.25, 1}, "e2-small": {0.5, 2}, "e2-medium": {1, 4},
	"e2-standard-2": {2, 8}, "e2-standard-4": {4, 16}, "e2-standard-8": {8, 32},
	"e2-highcpu-2": {2, 2}, "e2-highcpu-4": {4, 4}, "e2-highmem-2": {2, 16},
}

// MinBilledSeconds is Compute Engine's minimum charge for a VM
// (cloud.google.com/compute/vm-instance-pricing, "Billing model for
// virtual machine instances": "All vCPUs, GPUs, and GB of memory are
// charged a minimum of 1 minute. For example, if you run your virtual
// machine for 30 seconds, you will be billed for 1 minute of usage. After
// 1 minute, instances are charged in 1 second increments.").
const MinBilledSeconds = 60

// Bill is what the project is charged for VM name's vCPUs and memory: the
// catalogue's E2 rates (Spot or on demand, as inserted) times its seconds
// from creation until it stopped or was deleted (or now while it runs),
// with Compute Engine's one-minute minimum. seconds is that time itself,
// before the minimum. A VM the fake never created, or of a machine type
// outside the E2 table, bills nothing. The boot disk is not counted.
func (s *Server) Bill(name string) (usd, seconds float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.bills[name]
	if u == nil {
		return 0, 0
	}
	shape, ok := e2Shapes[u.machine]
	if !ok {
		return 0, 0
	}
	p := DefaultE2Prices
	if s.e2 != nil {
		p = *s.e2
	}
	rate := shape.vcpus*p.Core + shape.gb*p.RAM
	if u.spot {
		rate = shape.vcpus*p.SpotCore + shape.gb*p.SpotRAM
	}
	end := u.end
	if end.IsZero() {
		end = time.Now()
	}
	seconds = max(end.Sub(u.start).Seconds(), 0)
	return rate * max(seconds, MinBilledSeconds) / 3600, seconds
}
