package sshpool_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/sshpool"
)

// TestHostsFromScnYAML follows a host from scn.yaml to the instance an
// action gets: what the team writes is what scn connects to.
func TestHostsFromScnYAML(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	dir := t.TempDir()
	file := filepath.Join(dir, "scn.yaml")
	src := `targets:
  lab:
    kind: ssh
    hosts:
      - { name: gpu1, host: 10.0.0.5, port: 2200, user: root, key: ~/.ssh/id_ed25519, gpu: RTX_4090, price_per_hour: 0.5 }
      - { name: gpu2, host: 10.0.0.6, user: ml, key: keys/lab, workspace: /data/ws, gpu: RTX_4090, num_gpus: 2 }
      - { name: cpu1, host: 10.0.0.9, user: scn, role: standby }
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := assembly.LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	tc, ok := cfg.Target("lab")
	if !ok {
		t.Fatal("target lab not found")
	}
	state := filepath.Join(dir, ".scn")
	gpus := sshpool.New(sshpool.Options{StateDir: state, Hosts: tc.Hosts})
	standby := sshpool.New(sshpool.Options{StateDir: state, Hosts: tc.Hosts, Role: sshpool.RoleStandby})
	ctx := context.Background()

	offers, err := gpus.Offers(ctx, cloud.OfferQuery{GPU: "RTX_4090"})
	if err != nil {
		t.Fatal(err)
	}
	wantOffers := []cloud.Offer{
		{ID: "gpu2", Provider: "ssh", GPU: "RTX_4090", NumGPUs: 2, Reliability: 1, Location: "10.0.0.6"},
		{ID: "gpu1", Provider: "ssh", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.5, Reliability: 1, Location: "10.0.0.5"},
	}
	if !reflect.DeepEqual(offers, wantOffers) {
		t.Errorf("offers = %+v\nwant %+v", offers, wantOffers)
	}

	inst, err := gpus.Create(ctx, cloud.CreateRequest{Offer: offers[1], Label: "scn-r-gpu"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Addr() != "10.0.0.5:2200" || inst.User != "root" || inst.IdentityFile != "/home/tester/.ssh/id_ed25519" || inst.Workspace != "/workspace" {
		t.Errorf("gpu1 instance = %+v", inst)
	}
	inst, err = gpus.Create(ctx, cloud.CreateRequest{Offer: offers[0], Label: "scn-r-gpu2"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Addr() != "10.0.0.6:22" || inst.User != "ml" || inst.IdentityFile != filepath.Join(dir, "keys/lab") || inst.Workspace != "/data/ws" {
		t.Errorf("gpu2 instance = %+v", inst)
	}
	sb, err := standby.Create(ctx, cloud.CreateRequest{Label: "scn-r-standby"})
	if err != nil || sb.ID != "cpu1" || sb.User != "scn" || sb.IdentityFile != "" {
		t.Errorf("standby instance = %+v, %v", sb, err)
	}
}
