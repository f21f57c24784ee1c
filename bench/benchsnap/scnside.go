package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/agent"
	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/snapshot"
)

// childVerb makes the bench binary the scn side of one measurement: a
// process of its own, so its peak RSS is scn's alone.
const childVerb = "scn-side"

// scnResult is what the scn side prints on stdout, as JSON.
type scnResult struct {
	Seconds     float64 `json:"seconds"`      // the snapshot or restore call alone
	BytesStored int64   `json:"bytes_stored"` // snapshot: size of the data object
	GoSys       uint64  `json:"go_sys"`       // memory the Go runtime got from the OS
	PeakRSS     int64   `json:"peak_rss"`     // VmHWM: this process's own peak resident set
	Via         string  `json:"via"`          // agent | scn, as scn reported it
	SCNBytes    int64   `json:"scn_bytes"`    // bytes of the tar stream through this process
	AgentRSS    int64   `json:"agent_rss"`    // the agent's peak resident set, as it reported it
}

// runIfScnChild runs the scn side, or scn's agent, and exits when this
// process is one (main and TestMain call it first). The bench serves
// `agent` like scn's own executable does, for when no scn-agent binary lies
// beside it (scripts/bench-snapshot builds one, so the bench measures it).
func runIfScnChild() {
	if len(os.Args) == 2 && os.Args[1] == "agent" {
		os.Exit(agent.Main())
	}
	if len(os.Args) > 1 && os.Args[1] == childVerb {
		os.Exit(scnChild(os.Args[2:]))
	}
}

// scnArgs are the scn side's flags.
type scnArgs struct {
	state, config, target, instance, op, path, name, profile string
	agent                                                    bool // move the bytes with scn's agent
}

func (a scnArgs) list() []string {
	return []string{childVerb, "-state", a.state, "-config", a.config, "-target", a.target, "-instance", a.instance,
		"-op", a.op, "-path", a.path, "-name", a.name, "-profile", a.profile, fmt.Sprintf("-agent=%t", a.agent)}
}

func scnChild(argv []string) int {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(snapshot.MemoryLimit) // as cmd/scn does
	}
	var a scnArgs
	fs := flag.NewFlagSet(childVerb, flag.ContinueOnError)
	fs.StringVar(&a.state, "state", "", "scn state dir")
	fs.StringVar(&a.config, "config", "", "scn.yaml")
	fs.StringVar(&a.target, "target", "", "target name")
	fs.StringVar(&a.instance, "instance", "", "local instance id")
	fs.StringVar(&a.op, "op", "", "snapshot or restore")
	fs.StringVar(&a.path, "path", "", "workspace (snapshot) or destination (restore) on the instance")
	fs.StringVar(&a.name, "name", "", "snapshot name")
	fs.StringVar(&a.profile, "profile", "", "write <profile>.cpu.pprof and <profile>.allocs.pprof")
	fs.BoolVar(&a.agent, "agent", false, "move the bytes with scn's agent (as scn does), not through this process")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := scnSide(ctx, a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scn %s: %v\n", a.op, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// scnSide opens the target as scn does, reaches the sandbox over SSH and
// runs one snapshot or restore.
func scnSide(ctx context.Context, a scnArgs) (*scnResult, error) {
	tgt, err := assembly.Open(ctx, assembly.OpenOptions{Name: a.target, StateDir: a.state, ConfigFile: a.config})
	if err != nil {
		return nil, err
	}
	defer tgt.Close()
	inst, err := tgt.Compute.Get(ctx, a.instance)
	if err != nil {
		return nil, err
	}
	ex, err := tgt.Connect(ctx, inst)
	if err != nil {
		return nil, err
	}
	if a.profile != "" {
		if err := os.MkdirAll(filepath.Dir(a.profile), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(a.profile + ".cpu.pprof")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	// As the CLI does: agents beside this executable, or itself.
	var agents *agentctl.Launcher
	if a.agent {
		agents = agentctl.New(agentctl.BesideExecutable())
	}
	notice := func(line string) { fmt.Fprintln(os.Stderr, line) }
	res := &scnResult{}
	start := time.Now()
	switch a.op {
	case "snapshot":
		m, err := snapshot.Create(ctx, snapshot.CreateOptions{Exec: ex, Path: a.path, Name: a.name, Store: tgt.Store, Source: inst.ID,
			Agent: agents, Notice: notice})
		if err != nil {
			return nil, err
		}
		res.BytesStored = m.BytesStored
		res.Via, res.SCNBytes, res.AgentRSS = m.Transport.Via, m.Transport.SCNBytes, m.Transport.AgentRSS
	case "restore":
		r, err := snapshot.Restore(ctx, snapshot.RestoreOptions{Exec: ex, Store: tgt.Store, Name: a.name, Path: a.path, Instance: inst.ID,
			Agent: agents, Notice: notice})
		if err != nil {
			return nil, err
		}
		res.Via, res.SCNBytes, res.AgentRSS = r.Transport.Via, r.Transport.SCNBytes, r.Transport.AgentRSS
	default:
		return nil, fmt.Errorf("unknown -op %q", a.op)
	}
	res.Seconds = time.Since(start).Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.GoSys = ms.Sys
	res.PeakRSS = statusBytes("VmHWM")
	if a.profile != "" {
		if err := writeProfile("allocs", a.profile+".allocs.pprof"); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup(name).WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
