package gpu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/target"
)

func TestMain(m *testing.M) {
	local.RunIfChild() // the sandboxes of TestInfoOnLocalSandboxes are this test binary
	os.Exit(m.Run())
}

// What nvidia-smi prints on real machines, and what gpu.info makes of it.
func TestInfoReadsNvidiaSMI(t *testing.T) {
	const h100 = "NVIDIA H100 80GB HBM3, 81559, 0, 0, 550.54.15\n"
	for _, tc := range []struct {
		name  string
		reply actiontest.Reply
		want  []GPU
		err   string
	}{
		{"one GPU", actiontest.Reply{Stdout: h100},
			[]GPU{{"NVIDIA H100 80GB HBM3", 81559, 0, 0, "550.54.15"}}, ""},
		{"two busy GPUs, CRLF and a blank line", actiontest.Reply{Stdout: "NVIDIA GeForce RTX 4090, 24564, 20311, 97, 535.129.03\r\n" +
			"NVIDIA GeForce RTX 4090, 24564, 3, 0, 535.129.03\r\n\n"},
			[]GPU{{"NVIDIA GeForce RTX 4090", 24564, 20311, 97, "535.129.03"}, {"NVIDIA GeForce RTX 4090", 24564, 3, 0, "535.129.03"}}, ""},
		{"values a GPU does not report", actiontest.Reply{Stdout: "NVIDIA A100-SXM4-40GB MIG 3g.20gb, 40960, [N/A], [Not Supported], 470.82.01\n"},
			[]GPU{{"NVIDIA A100-SXM4-40GB MIG 3g.20gb", 40960, -1, -1, "470.82.01"}}, ""},
		{"no GPU listed", actiontest.Reply{Stdout: ""}, []GPU{}, ""},
		{"not installed", actiontest.Reply{Stderr: "sh: 1: nvidia-smi: not found\n", Code: 127}, nil,
			"nvidia-smi not found on instance 7: no NVIDIA driver there"},
		{"driver gone", actiontest.Reply{Code: 9, Stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. " +
			"Make sure that the latest NVIDIA driver is installed and running.\n\n"}, nil,
			"nvidia-smi on instance 7 exited 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."},
		{"no devices", actiontest.Reply{Code: 6, Stdout: "No devices were found\n"}, nil, "exited 6: No devices were found"},
		{"silent failure", actiontest.Reply{Code: 1}, nil, "exited 1: (no output)"},
		{"a field short (an older nvidia-smi)", actiontest.Reply{Stdout: "Tesla T4, 15360, 0, 0\n"}, nil,
			`nvidia-smi on instance 7: unexpected answer "Tesla T4, 15360, 0, 0": want 5 comma-separated values`},
		{"units left in", actiontest.Reply{Stdout: "Tesla T4, 15360 MiB, 0 MiB, 0 %, 525.85.12\n"}, nil, `"15360 MiB" is not a number`},
		{"connection lost", actiontest.Reply{Err: errors.New("ssh: unexpected packet")}, nil,
			"asking instance 7 for its GPUs: ssh: unexpected packet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := actiontest.NewProvider(t, "vast")
			p.Machine("7")
			x := actiontest.Answering(tc.reply)
			r := actiontest.NewRun(t, &target.Target{Compute: p})
			r.Connect = func(context.Context, *cloud.Instance) (remote.Execer, error) { return x, nil }
			out, err := r.Do(t, "info", Info, map[string]any{"on": "7"})
			if cmds := x.Commands(); !slices.Equal(cmds, []string{infoQuery}) {
				t.Errorf("ran %q", cmds)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := out.(*InfoOutputs)
			if o.Count != len(tc.want) || !reflect.DeepEqual(o.GPUs, tc.want) {
				t.Errorf("got %d %+v, want %+v", o.Count, o.GPUs, tc.want)
			}
		})
	}
}

func TestInfoNeedsARunningInstance(t *testing.T) {
	p := actiontest.NewProvider(t, "vast")
	p.Add(cloud.Instance{ID: "8", Status: cloud.StatusExited})
	r := actiontest.NewRun(t, &target.Target{Compute: p})
	if _, err := r.Do(t, "info", Info, map[string]any{"on": "8"}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("an exited instance: %v", err)
	}
}

// On the local target gpu.info reaches a real sandbox over real SSH: the
// sandbox's nvidia-smi reports the GPUs of the catalogue offer it was
// rented from; a CPU machine has no nvidia-smi.
func TestInfoOnLocalSandboxes(t *testing.T) {
	state := t.TempDir()
	key, err := remote.LoadOrCreateKey(filepath.Join(state, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	prov := local.New(local.Options{StateDir: state, Key: key, StopGrace: 3 * time.Second})
	pool := remote.NewPool(key.Signer, remote.Options{ConnectTimeout: 10 * time.Second})
	t.Cleanup(pool.Close)
	tgt := &target.Target{Name: "local", Compute: prov, Probe: pool.Probe,
		Connect: func(ctx context.Context, inst *cloud.Instance) (remote.Execer, error) { return pool.Client(ctx, inst) }}
	sandbox := func(offer string) *cloud.Instance {
		t.Helper()
		inst, err := prov.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: offer}, Label: "scn-test-gpu-info"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := prov.Destroy(context.Background(), inst.ID, cloud.ReasonUser); err != nil {
				t.Errorf("destroying sandbox %s: %v", inst.ID, err)
			}
		})
		inst, err = cloud.WaitReady(context.Background(), prov, inst.ID, cloud.WaitOptions{Interval: 20 * time.Millisecond,
			Timeout: 30 * time.Second, Probe: pool.Probe})
		if err != nil {
			t.Fatalf("sandbox %s: %v", offer, err)
		}
		return inst
	}
	two, cpu := sandbox("loc-4090x2"), sandbox("loc-e2-medium")

	r := actiontest.NewRun(t, tgt)
	o := actiontest.OK[InfoOutputs](t, r, "info", Info, map[string]any{"on": map[string]any{"id": two.ID, "provider": "local"}})
	g := GPU{Name: "NVIDIA GeForce RTX 4090", MemoryTotalMB: 24564, MemoryUsedMB: 1, UtilizationPct: 0, DriverVersion: "550.54.15"}
	if o.Count != 2 || !reflect.DeepEqual(o.GPUs, []GPU{g, g}) {
		t.Errorf("a 2×RTX 4090 sandbox: %+v", o)
	}
	if logs := r.Env("info").Logs(); len(logs) != 2 || logs[1] != "GPU 1: NVIDIA GeForce RTX 4090, 1 of 24564 MiB used, 0% busy, driver 550.54.15" {
		t.Errorf("logs %q", logs)
	}
	_, err = r.Do(t, "cpu", Info, map[string]any{"on": cpu.ID})
	if err == nil || err.Error() != "nvidia-smi not found on instance "+cpu.ID+": no NVIDIA driver there (a CPU machine, or an image without it)" {
		t.Errorf("a CPU sandbox: %v", err)
	}
}
