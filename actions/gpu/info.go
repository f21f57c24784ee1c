package gpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scnlabs/scn/actions"
)

// InfoParams are the parameters of gpu.info.
type InfoParams struct {
	On actions.InstanceRef `json:"on" alias:"instance" required:"true" doc:"the instance to ask: an id or ${{ steps.gpu }}"`
}

// GPU is one GPU as nvidia-smi reports it.
type GPU struct {
	Name           string `json:"name" doc:"model as the driver names it, e.g. NVIDIA GeForce RTX 4090"`
	MemoryTotalMB  int    `json:"memory_total_mb" doc:"memory, MiB (nvidia-smi memory.total); -1 when not reported"`
	MemoryUsedMB   int    `json:"memory_used_mb" doc:"memory in use, MiB; -1 when not reported"`
	UtilizationPct int    `json:"utilization_pct" doc:"GPU utilization, percent; -1 when not reported ([N/A] on some GPUs)"`
	DriverVersion  string `json:"driver_version" doc:"NVIDIA driver version"`
}

// InfoOutputs are the outputs of gpu.info.
type InfoOutputs struct {
	GPUs  []GPU `json:"gpus" doc:"one per GPU, in nvidia-smi's order: name, memory_total_mb, memory_used_mb, utilization_pct, driver_version"`
	Count int   `json:"count" doc:"len(gpus)"`
}

// infoQuery is the nvidia-smi call; its fields are GPU's, in this order.
const infoQuery = "nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu,driver_version --format=csv,noheader,nounits"

// infoTimeout bounds the call: nvidia-smi hangs when the driver is wedged.
const infoTimeout = time.Minute

// Info asks an instance's NVIDIA driver what GPUs it has.
var Info = actions.Define(actions.Info{
	Name:    "gpu.info",
	Summary: "ask an instance's NVIDIA driver (nvidia-smi over SSH) which GPUs it has: model, memory, utilization, driver",
	Doc: "Runs `" + infoQuery + "` on the instance and reports each GPU. Fails when nvidia-smi is not " +
		"there (a CPU machine, or an image without the NVIDIA driver), when it fails (a driver it cannot talk to) " +
		"or takes over a minute. Local sandboxes answer with the GPUs of the catalogue offer they were rented " +
		"from (idle), so a drill can check the GPU it got on every target.",
	Example: "- id: info\n  action: gpu.info\n  with: { on: \"${{ steps.gpu }}\" }\n  expect: [ \"count >= 1\", \"gpus[0].memory_total_mb >= 20000\" ]",
}, func(ctx context.Context, env *actions.Env, p *InfoParams) (*InfoOutputs, error) {
	x, inst, err := env.Exec(ctx, p.On)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code, err := x.Exec(qctx, infoQuery, nil, &stdout, &stderr)
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("nvidia-smi on instance %s did not answer within %s", inst.ID, infoTimeout)
	case err != nil:
		return nil, fmt.Errorf("asking instance %s for its GPUs: %w", inst.ID, err)
	case code == 127:
		return nil, fmt.Errorf("nvidia-smi not found on instance %s: no NVIDIA driver there (a CPU machine, or an image without it)", inst.ID)
	case code != 0:
		return nil, fmt.Errorf("nvidia-smi on instance %s exited %d: %s", inst.ID, code, said(stdout.String(), stderr.String()))
	}
	gpus, err := parseGPUs(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi on instance %s: %w", inst.ID, err)
	}
	for i, g := range gpus {
		env.Logf("GPU %d: %s, %d of %d MiB used, %d%% busy, driver %s", i, g.Name, g.MemoryUsedMB, g.MemoryTotalMB, g.UtilizationPct, g.DriverVersion)
	}
	return &InfoOutputs{GPUs: gpus, Count: len(gpus)}, nil
})

// parseGPUs reads nvidia-smi's answer: a line per GPU, its fields
// ", "-separated in infoQuery's order, without header or units. A value
// the GPU does not report ([N/A], [Not Supported]) is -1.
func parseGPUs(out string) ([]GPU, error) {
	gpus := []GPU{}
	for line := range strings.Lines(out) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 5 {
			return nil, fmt.Errorf("unexpected answer %q: want 5 comma-separated values (name, memory.total, memory.used, utilization.gpu, driver_version)", strings.TrimSpace(line))
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		g := GPU{Name: f[0], DriverVersion: f[4]}
		for i, dst := range []*int{&g.MemoryTotalMB, &g.MemoryUsedMB, &g.UtilizationPct} {
			n, err := number(f[1+i])
			if err != nil {
				return nil, fmt.Errorf("unexpected answer %q: %w", strings.TrimSpace(line), err)
			}
			*dst = n
		}
		gpus = append(gpus, g)
	}
	return gpus, nil
}

// number reads one of nvidia-smi's numbers; -1 for a value not reported.
func number(s string) (int, error) {
	if strings.HasPrefix(s, "[") || s == "N/A" {
		return -1, nil // [N/A], [Not Supported], [Unknown Error]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return int(f + 0.5), nil
}

// said is the end of what a failed command printed (nvidia-smi writes its
// errors on stdout).
func said(stdout, stderr string) string {
	s := strings.TrimSpace(stderr + "\n" + stdout)
	if s == "" {
		return "(no output)"
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	return s
}
