package store

import (
	"math"
	"testing"
)

func TestB2RatesPriceStorageHourly(t *testing.T) {
	// 1 TB for a month is $6; for an hour, $6/730.
	if got := B2Rates.PerHour(1e12); math.Abs(got-6.0/730) > 1e-12 {
		t.Errorf("1 TB for an hour: $%v", got)
	}
	if got := B2Rates.PerHour(0); got != 0 {
		t.Errorf("nothing stored costs $%v", got)
	}
}
