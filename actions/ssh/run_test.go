package ssh

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

func shell(t *testing.T) remote.Shell { return remote.Shell{Dir: t.TempDir()} }

func TestRun(t *testing.T) {
	tricky := "it's $HOME `id` \"q\" \\ $(touch pwned)\nline 2 ✓"
	for _, tc := range []struct {
		name string
		c    Command
		want Result
	}{
		{"streams and exit code", Command{Script: "echo out; echo err >&2; exit 3"},
			Result{Stdout: "out\n", Stderr: "err\n", ExitCode: 3}},
		{"env values are quoted", Command{Script: `printf '%s|%s' "$A" "$B_2"`, Env: map[string]string{"A": tricky, "B_2": ""}},
			Result{Stdout: tricky + "|"}},
		{"stdin", Command{Script: "read -r first; echo \"<$first>\"; cat", Stdin: "hello\nworld ✓"},
			Result{Stdout: "<hello>\nworld ✓"}},
		{"no stdin is EOF at once", Command{Script: "cat; echo done"}, Result{Stdout: "done\n"}},
		{"bash where there is bash", Command{Script: `[[ -n x ]] && echo "$BASH_VERSION" | grep -c .`},
			Result{Stdout: "1\n"}},
		{"output beyond max_output is dropped", Command{Script: "head -c 5000 /dev/zero | tr '\\0' a; printf e >&2", MaxOutput: 1000},
			Result{Stdout: strings.Repeat("a", 1000), Stderr: "e", Truncated: true}},
		{"exit 124 in well under the timeout is not a timeout", Command{Script: "exit 124"}, Result{ExitCode: 124}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.MaxOutput == 0 {
				tc.c.MaxOutput = 1 << 20
			}
			tc.c.Timeout = time.Minute
			sh := shell(t)
			got, err := Run(context.Background(), sh, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(tc.want.Stderr, got.StderrTail) {
				t.Errorf("stderr tail %q is not the end of %q", got.StderrTail, tc.want.Stderr)
			}
			got.Seconds, got.StderrTail = 0, ""
			if *got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", *got, tc.want)
			}
			if _, err := os.Stat(filepath.Join(sh.Dir, "pwned")); err == nil {
				t.Fatal("an env value was run as a command")
			}
		})
	}
}

func TestRunRejectsBadEnvNames(t *testing.T) {
	for _, k := range []string{"1A", "A-B", "A B", "", "A;rm"} {
		_, err := Run(context.Background(), shell(t), Command{Script: "true", Env: map[string]string{k: "v"}, Timeout: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "not a shell variable name") {
			t.Errorf("env name %q: err = %v", k, err)
		}
	}
}

func TestRunLogsLines(t *testing.T) {
	var lines []string
	c := Command{Script: "printf 'l1\\r\\nl2\\n'; printf 'oops\\n' >&2; printf 'last'; head -c 3000 /dev/zero | tr '\\0' b",
		Timeout: time.Minute, MaxOutput: 2000,
		Log: func(stream, line string) { lines = append(lines, stream+": "+line) }}
	if _, err := Run(context.Background(), shell(t), c); err != nil {
		t.Fatal(err)
	}
	want := []string{"stdout: l1", "stdout: l2", "stdout: last" + strings.Repeat("b", 2000-len("l1\r\nl2\nlast")),
		"stdout: … 1011 more bytes of stdout not kept (max_output 2000)"}
	got := strings.Join(lines, "\n")
	for _, w := range append(want, "stderr: oops") {
		if !strings.Contains(got, w) {
			t.Errorf("log lacks %q:\n%s", w, got)
		}
	}
}

// gone reports whether pid has exited (a zombie waiting for a reaper
// counts as gone: it runs nothing).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(stat)
	return strings.HasPrefix(s[strings.LastIndex(s, ")")+1:], " Z")
}

func TestTimeoutStopsTheWorkOnTheMachine(t *testing.T) {
	for name, setup := range map[string]func() (context.Context, time.Duration){
		"timeout": func() (context.Context, time.Duration) { return context.Background(), time.Second },
		"step deadline shortens it": func() (context.Context, time.Duration) {
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			t.Cleanup(cancel)
			return ctx, 10 * time.Minute
		},
	} {
		t.Run(name, func(t *testing.T) {
			sh := shell(t)
			ctx, timeout := setup()
			pidFile := filepath.Join(sh.Dir, "pid")
			// A background child too: timeout must stop the whole group.
			res, err := Run(ctx, sh, Command{Script: "sleep 30 & echo $! > pid; wait", Timeout: timeout, MaxOutput: 100})
			if err != nil {
				t.Fatal(err)
			}
			if !res.TimedOut || res.ExitCode != 124 || res.Seconds >= 25 {
				t.Fatalf("not stopped by the timeout: %+v", res)
			}
			data, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !gone(pid) {
				if time.Now().After(deadline) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("sleep (pid %d) still runs after the timeout", pid)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// frozen is a machine that accepted the session and then stopped answering.
type frozen struct{}

func (frozen) Exec(ctx context.Context, _ string, _ io.Reader, _, _ io.Writer) (int, error) {
	<-ctx.Done()
	return -1, ctx.Err()
}

func TestRunGivesUpOnAFrozenMachine(t *testing.T) {
	res, err := Run(context.Background(), frozen{}, Command{Script: "true", Timeout: time.Second, Grace: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not end the session") || res == nil {
		t.Fatalf("err = %v", err)
	}
}

func TestRunNeedsTimeoutOnTheMachine(t *testing.T) {
	bin := t.TempDir()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sh, filepath.Join(bin, "sh")); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), remote.Shell{Dir: bin, Env: []string{"PATH=" + bin}}, Command{Script: "true", Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "no timeout command") {
		t.Fatalf("err = %v", err)
	}
}

// cmdRecorder is an Execer that remembers the command lines it ran.
type cmdRecorder struct {
	remote.Execer
	cmds []string
}

func (r *cmdRecorder) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	r.cmds = append(r.cmds, cmd)
	return r.Execer.Exec(ctx, cmd, stdin, stdout, stderr)
}

// Env values (often secrets) never appear in the command line: it shows in
// ps on the machine and in scn's errors, where a quoted value would slip
// past the masker. They travel on stdin, ahead of the command's input.
func TestEnvValuesStayOffTheCommandLine(t *testing.T) {
	secret := "s3cr'et-VALUE"
	rec := &cmdRecorder{Execer: shell(t)}
	got, err := Run(context.Background(), rec, Command{Script: `printf '%s|' "$TOKEN"; cat`, Stdin: "input ✓",
		Env: map[string]string{"TOKEN": secret}, Timeout: time.Minute, MaxOutput: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got.Stdout != secret+"|input ✓" {
		t.Errorf("stdout %q", got.Stdout)
	}
	for _, c := range rec.cmds {
		if strings.Contains(c, "s3cr") || strings.Contains(c, "VALUE") {
			t.Errorf("the command line carries the env value: %s", c)
		}
	}
}
