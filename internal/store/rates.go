package store

// Rates is what a store charges for keeping bytes, as scn estimates it:
// stores are priced from a published price list, never from a bill, so a
// snapshot's cost is always marked estimated, with Source saying which list.
type Rates struct {
	USDPerGBMonth float64 // storage, per GB (10^9 bytes) per month
	Source        string  // the price list and its date, for price_source
}

// hoursPerMonth is the month storage prices are quoted per, as providers
// that bill storage hourly count it (365 × 24 / 12).
const hoursPerMonth = 730

// PerHour is what storing n bytes costs per hour.
func (r Rates) PerHour(n int64) float64 {
	return float64(n) / 1e9 * r.USDPerGBMonth / hoursPerMonth
}

// B2Rates is Backblaze B2's price list: $6 per TB per month of storage,
// calculated hourly with no minimum retention (backblaze.com/cloud-storage/pricing,
// as published from October 2023). Transactions: uploads and deletes
// (Class A) are free; the few downloads and listings (Class B and C) a
// drill makes stay within the 2,500 free per day, so they add nothing.
var B2Rates = Rates{
	USDPerGBMonth: 0.006,
	Source:        "estimated: B2 storage $6/TB-month, hourly (Backblaze price list, 2023-10); uploads and deletes free, downloads and lists within the free daily 2,500",
}
