package scenarios_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

var update = flag.Bool("update", false, "rewrite testdata/plan/*.golden from the current output")

// What `scn plan` prints for the shipped drills — steps, what they create,
// the worst-case cost each paid step's action computes (max_price, the
// gpu.offers step an offer comes from, the dearest offers of the local
// catalogue), the cleanup order — is fixed in golden files. A variant
// without a target shows the prices it cannot know, one with vars shows
// them followed.
func TestPlanGolden(t *testing.T) {
	cat := local.New(local.Options{StateDir: t.TempDir()}) // offers only: nothing starts
	localTarget := &target.Target{Name: "local", Kind: "local", Compute: cat, Standby: cat}
	reg := builtin.Registry()
	for _, tc := range []struct {
		golden, file string
		tgt          *target.Target
		vars         map[string]string
	}{
		{"realtime-sync", "realtime-sync.yaml", localTarget, nil},
		{"cpu-standby", "cpu-standby.yaml", localTarget, nil},
		{"manual-ssh", "manual-ssh.yaml", localTarget, nil},
		{"copy-two-instances", "examples/copy-two-instances.yaml", localTarget, nil},
		{"fails-on-purpose", "examples/fails-on-purpose.yaml", localTarget, nil},
		{"realtime-sync-no-target", "realtime-sync.yaml", nil, nil},
		{"realtime-sync-h100-no-max", "realtime-sync.yaml", localTarget, map[string]string{"gpu": "H100", "max_price": "0"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			sc, err := runner.LoadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := runner.Check(sc, reg)
			if err != nil {
				t.Fatal(err)
			}
			name := "local"
			if tc.tgt == nil {
				name = "vast"
			}
			var out, md bytes.Buffer
			plan := runner.MakePlan(c, name, runner.StaticPricer(context.Background(), c, tc.tgt, tc.vars))
			plan.Write(&out)
			golden(t, filepath.Join("testdata", "plan", tc.golden+".golden"), out.Bytes())
			// The pull-request comment (scn plan --markdown) says the same.
			plan.WriteMarkdown(&md)
			golden(t, filepath.Join("testdata", "plan", tc.golden+".md.golden"), md.Bytes())
		})
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scenarios -run TestPlanGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("plan differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
	if strings.Contains(string(got), "\r") {
		t.Error("a carriage return in the plan")
	}
}
