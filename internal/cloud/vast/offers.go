package vast

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/scnlabs/scn/internal/cloud"
)

// DefaultOfferLimit is how many offers a search returns when the query does
// not say.
const DefaultOfferLimit = 20

// wireOffer is the part of a VAST offer (a "bundle") scn reads.
type wireOffer struct {
	ID           int64    `json:"id"`
	DPHTotal     float64  `json:"dph_total"`
	GPUName      string   `json:"gpu_name"`
	NumGPUs      int      `json:"num_gpus"`
	Reliability  *float64 `json:"reliability"`
	Reliability2 *float64 `json:"reliability2"`
	DiskSpace    float64  `json:"disk_space"`
	Geolocation  *string  `json:"geolocation"`
	// The host's bandwidth prices, USD per GB sent and received
	// (vast-ai/docs search_offers.yaml: "Upload bandwidth cost ($/GB)").
	InetUpCost   float64 `json:"inet_up_cost"`
	InetDownCost float64 `json:"inet_down_cost"`
}

// offerQuery builds the search body the CLI sends for `search offers`:
// field → {operator: value}, plus order, type, limit and allocated_storage.
// The CLI's defaults (verified, rentable, not rented, not external) are
// always on. allocated_storage is the disk the instance will rent (disk GB
// when the query does not say): VAST prices it into each offer's
// dph_total, as the CLI's --storage does, so a max_price filter and the
// price shown are what the instance will be billed.
func offerQuery(q cloud.OfferQuery, disk float64) (map[string]any, error) {
	if q.DiskGB > 0 {
		disk = q.DiskGB
	}
	body := map[string]any{
		"verified":          map[string]any{"eq": true},
		"external":          map[string]any{"eq": false},
		"rentable":          map[string]any{"eq": true},
		"rented":            map[string]any{"eq": false},
		"type":              "on-demand",
		"allocated_storage": disk,
	}
	if gpus := gpuNames(q.GPU); len(gpus) > 0 {
		body["gpu_name"] = map[string]any{"in": gpus}
	}
	if q.NumGPUs > 0 {
		body["num_gpus"] = map[string]any{"eq": q.NumGPUs}
	}
	if q.MinReliability > 0 {
		body["reliability"] = map[string]any{"gte": q.MinReliability}
	}
	if q.MaxPrice > 0 {
		body["dph_total"] = map[string]any{"lte": q.MaxPrice}
	}
	if q.MinDiskGB > 0 {
		body["disk_space"] = map[string]any{"gte": q.MinDiskGB}
	}
	switch strings.ToLower(q.Order) {
	case "", "price":
		body["order"] = [][]string{{"dph_total", "asc"}}
	case "reliability":
		body["order"] = [][]string{{"reliability", "desc"}, {"dph_total", "asc"}}
	default:
		return nil, fmt.Errorf("vast: cannot order offers by %q (price or reliability)", q.Order)
	}
	body["limit"] = DefaultOfferLimit
	if q.Limit > 0 {
		body["limit"] = q.Limit
	}
	return body, nil
}

// gpuNames turns "RTX_4090,RTX_3090" into VAST's spelling ["RTX 4090","RTX 3090"],
// as the CLI does with underscores in values.
func gpuNames(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, strings.ReplaceAll(g, "_", " "))
		}
	}
	return out
}

// gpuID is VAST's GPU name in scn's spelling: RTX 4090 → RTX_4090.
func gpuID(name string) string { return strings.ReplaceAll(strings.TrimSpace(name), " ", "_") }

// Offers searches machines to rent (POST /api/v0/bundles/).
func (p *Provider) Offers(ctx context.Context, q cloud.OfferQuery) ([]cloud.Offer, error) {
	body, err := offerQuery(q, p.cfg.DiskGB)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Offers []wireOffer `json:"offers"`
	}
	// A search changes nothing: retrying it after a 5xx is safe.
	if err := p.do(ctx, request{method: http.MethodPost, path: "/api/v0/bundles/", body: body, out: &resp, idempotent: true}); err != nil {
		return nil, fmt.Errorf("searching VAST offers: %w", err)
	}
	offers := make([]cloud.Offer, 0, len(resp.Offers))
	for _, w := range resp.Offers {
		o := cloud.Offer{
			ID:            strconv.FormatInt(w.ID, 10),
			Provider:      ProviderName,
			GPU:           gpuID(w.GPUName),
			NumGPUs:       w.NumGPUs,
			PricePerHour:  w.DPHTotal,
			DiskGB:        w.DiskSpace,
			SentPerGB:     w.InetUpCost,
			ReceivedPerGB: w.InetDownCost,
		}
		switch {
		case w.Reliability != nil:
			o.Reliability = *w.Reliability
		case w.Reliability2 != nil:
			o.Reliability = *w.Reliability2
		}
		if w.Geolocation != nil {
			o.Location = *w.Geolocation
		}
		offers = append(offers, o)
	}
	return offers, nil
}
