package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// usage is what one measured process cost.
type usage struct {
	Wall time.Duration
	// CPU is user+system time of the process and of the children it
	// waited for (a shell's whole pipeline).
	CPU time.Duration
	// MaxRSS is the peak resident set of the process, or of its largest
	// waited-for child, in bytes. Linux counts in it the RSS of the process
	// that started it (the bench: os/exec's vfork shares its memory until
	// exec), so measure resets the bench's own peak first; a small tool
	// still shows at least the bench's current RSS.
	MaxRSS int64
	// scn's side only: the path the bytes took as scn reported it (agent
	// or scn), the bytes through scn's process, and the agent's own peak
	// resident set on the machine.
	Via      string
	SCNBytes int64
	AgentRSS int64
}

// command prepares name in its own process group, so the terminal's Ctrl+C
// reaches only the bench, which then ends the whole group (a shell and its
// pipeline) itself when ctx is cancelled.
func command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// bash runs script with bash (for pipefail), args as $1, $2...
func bash(ctx context.Context, env []string, script string, args ...string) *exec.Cmd {
	return command(ctx, env, "bash", append([]string{"-c", "set -euo pipefail; " + script, "bash"}, args...)...)
}

// measure runs cmd to completion and reports its cost. A failure carries
// the end of its stderr (unless the caller routed stderr elsewhere).
func measure(cmd *exec.Cmd) (usage, error) {
	var stderr *bytes.Buffer // tools say little there, unless they fail
	if cmd.Stderr == nil {
		stderr = &bytes.Buffer{}
		cmd.Stderr = stderr
	}
	resetPeakRSS()
	start := time.Now()
	err := cmd.Run()
	u := usage{Wall: time.Since(start)}
	if st := cmd.ProcessState; st != nil {
		u.CPU = st.UserTime() + st.SystemTime()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			u.MaxRSS = ru.Maxrss << 10 // Linux reports KiB
		}
	}
	if err != nil {
		what := strings.Join(cmd.Args, " ")
		if len(what) > 160 {
			what = what[:160] + "…"
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" { // nil-safe
			if len(msg) > 2000 {
				msg = "…" + msg[len(msg)-2000:]
			}
			return u, fmt.Errorf("%s: %w: %s", what, err, msg)
		}
		return u, fmt.Errorf("%s: %w", what, err)
	}
	return u, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// procCPU is the CPU time of a live process so far, including the children
// it has reaped (a sandbox's shells and their tar), from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ... : the fields after comm, which may hold
	// spaces, start at "state"; utime, stime, cutime, cstime are fields
	// 14-17 of the whole line, so 11-14 after comm.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 15 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, s := range f[11:15] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter measures how much CPU a long-lived process (the S3 server, the
// sandbox) spends during one measurement.
type cpuMeter struct {
	pid   int
	start time.Duration
}

func startCPU(pid int) *cpuMeter {
	t, _ := procCPU(pid) // a process that is gone counts as 0
	return &cpuMeter{pid: pid, start: t}
}

func (m *cpuMeter) stop() time.Duration {
	if t, err := procCPU(m.pid); err == nil && t > m.start {
		return t - m.start
	}
	return 0
}

// stolen is how much CPU time the hypervisor has given to others while
// this VM's CPUs wanted to run (the steal column of /proc/stat's first
// line, all CPUs), 0 if unknown. A run that lost some was slowed by the
// host, not by the tool.
func stolen() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseSteal(line)
}

// parseSteal reads the steal column of /proc/stat's "cpu" line (user nice
// system idle iowait irq softirq steal ..., in clock ticks); 0 if absent.
func parseSteal(line string) time.Duration {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// loadAverage is the 1-minute load average, "" if unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// freshMemoryMBps measures how fast this machine hands out memory never
// touched before: on VMs whose balloon takes freed pages back, each first
// touch is a trip to the hypervisor, and everything that writes fresh pages
// (a restore filling the page cache, a process growing its heap) is bound
// by it.
func freshMemoryMBps(size int) float64 {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0
	}
	defer syscall.Munmap(b)
	start := time.Now()
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return float64(size) / 1e6 / time.Since(start).Seconds()
}

// resetPeakRSS lowers this process's RSS high-water mark to its current
// RSS (Linux ≥ 4.0), the floor of what the next child reports as MaxRSS.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// statusBytes reads a "kB" field of /proc/self/status, such as VmHWM (the
// peak RSS of this process since it was exec'd, its own alone), 0 if unknown.
func statusBytes(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
