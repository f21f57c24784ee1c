package standby

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
)

func TestParams(t *testing.T) {
	for _, tc := range []struct {
		spec *actions.Spec
		with map[string]any
		want string // error text; "" = valid
	}{
		{Create, map[string]any{"gpu": "42"}, ""},
		{Create, map[string]any{"on": map[string]any{"id": 42, "provider": "vast"}, "exclude": []any{}}, ""},
		{Create, map[string]any{}, "gpu: required parameter is missing"},
		{Create, map[string]any{"gpu": "42", "offer": map[string]any{"id": "x"}, "machine_type": "e2-small"}, "not both"},
		{Create, map[string]any{"gpu": "42", "failure_threshold": 0}, "at least 1"},
		{Create, map[string]any{"gpu": "42", "exclude": []any{"./"}}, "matches nothing"},
		{Create, map[string]any{"gpu": "42", "sync_interval": "soon"}, "not a duration"},
		{Status, map[string]any{"standby": "s"}, ""},
		{Status, map[string]any{}, "id: required parameter is missing"},
		{Sync, map[string]any{"on": "s"}, ""},
	} {
		_, err := actiontest.Params(tc.spec, tc.with)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %v: err = %v, want %q", tc.spec.Name, tc.with, err, tc.want)
		}
	}
	c := Create.NewParams().(*CreateParams)
	if err := actions.Decode(c, map[string]any{"gpu": "42"}, false); err != nil {
		t.Fatal(err)
	}
	if c.SyncInterval.Duration != 30*time.Second || c.CheckInterval.Duration != 10*time.Second || c.FailureThreshold != 3 ||
		c.ReadyTimeout.Duration != 10*time.Minute || c.Exclude != nil {
		t.Errorf("defaults: %+v", c)
	}
	s := Status.NewParams().(*StatusParams)
	if err := actions.Decode(s, map[string]any{"id": "x"}, false); err != nil || !s.Fail {
		t.Errorf("fail should default to true: %+v %v", s, err)
	}
}

func TestStandbyOfferChoice(t *testing.T) {
	fake := gcptest.New(t)
	p, err := gcp.New(context.Background(), fake.ProviderConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&CreateParams{}).offers(context.Background(), p)
	if err != nil || len(got) != 1 || got[0].GPU != gcp.DefaultMachineType || got[0].NumGPUs != 0 || got[0].PricePerHour <= 0 {
		t.Errorf("cheapest CPU offer: %+v %v", got, err)
	}
	if _, err := (&CreateParams{MachineType: "e2-standard-8"}).offers(context.Background(), p); err == nil ||
		!strings.Contains(err.Error(), "no e2-standard-8 offer on the standby provider gcp") {
		t.Errorf("a machine type the provider does not rent: %v", err)
	}
	given := cloud.Offer{ID: "gcp:z:e2-small"}
	if got, _ := (&CreateParams{Offer: &given}).offers(context.Background(), p); len(got) != 1 || got[0] != given {
		t.Errorf("the offer given: %+v", got)
	}
	// scn plan prices the standby at the offers it would choose from.
	if pr := (&CreateParams{}).Price(context.Background(), actions.PriceContext{Standby: p}); !pr.Known ||
		pr.PerHour != got[0].PricePerHour || pr.Reason != "the one offer it may take" {
		t.Errorf("price: %+v, want the cheapest CPU offer's %v", pr, got[0].PricePerHour)
	}
	if pr := (&CreateParams{}).Price(context.Background(), actions.PriceContext{}); pr.Known {
		t.Errorf("price without a standby provider: %+v", pr)
	}
	if alive := fake.Alive(); len(alive) != 0 {
		t.Errorf("choosing an offer rented something: %v", alive)
	}
}
