package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/throttle"
)

// command is a running /bin/sh -c in its own process group, so that
// everything it started can be killed together.
type command struct {
	cmd     *exec.Cmd
	outputs sync.WaitGroup // stdout and stderr copies

	mu     sync.Mutex
	reaped bool
}

// kill ends the command's whole process group. Once the shell is reaped its
// pid (the group id) may be reused, so a reaped command is left alone; until
// then the shell is at least a zombie and the group id is still ours.
func (c *command) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reaped {
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// wait reaps the shell.
func (c *command) wait() error {
	err := c.cmd.Wait()
	c.mu.Lock()
	c.reaped = true
	c.mu.Unlock()
	return err
}

// shell prepares /bin/sh -c line in the workspace with a clean environment:
// the sandbox's own (which may hold scn's secrets) is never passed on.
func (s *Server) shell(line string, extraEnv []string) *exec.Cmd {
	c := exec.Command("/bin/sh", "-c", line)
	c.Dir = s.workspace
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	c.Env = []string{"PATH=" + s.bin + ":" + path, "HOME=" + s.home, "USER=" + s.user, "LOGNAME=" + s.user,
		"SHELL=/bin/sh", "LANG=C.UTF-8", "SCN_WORKSPACE=" + s.workspace}
	names := make([]string, 0, len(s.cfg.Env))
	for k := range s.cfg.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c.Env = append(c.Env, k+"="+s.cfg.Env[k])
	}
	if rate := s.cfg.Faults.LinkBytesPerSec; rate > 0 {
		// The link is the machine's: what its programs send to a store
		// crosses it too (scn's agent paces itself to it).
		c.Env = append(c.Env, fmt.Sprintf("%s=%d", throttle.EnvLinkRate, rate))
	}
	c.Env = append(c.Env, extraEnv...) // later entries win
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}

// register tracks a started command so Close can kill it; false (and the
// command killed) if the server closed meanwhile.
func (s *Server) register(c *command, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !on {
		delete(s.cmds, c)
		return true
	}
	if s.closed {
		c.kill()
		return false
	}
	s.cmds[c] = struct{}{}
	return true
}

// start runs line with the channel as its stdin, stdout and stderr.
func (s *Server) start(line string, env []string, ch ssh.Channel) (*command, error) {
	c := &command{cmd: s.shell(line, env)}
	stdin, err := c.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	s.register(c, true)
	s.log.Printf("exec pid %d: %s", c.cmd.Process.Pid, logShort(line))
	go func() {
		io.Copy(stdin, ch) // ends at the client's EOF, or when the command stops reading
		stdin.Close()
	}()
	c.outputs.Add(2)
	go func() { io.Copy(ch, stdout); c.outputs.Done() }()
	go func() { io.Copy(ch.Stderr(), stderr); c.outputs.Done() }()
	return c, nil
}

// finish waits for the command's output to drain and the shell to exit,
// then sends its exit status and closes the channel, as sshd does.
func (s *Server) finish(c *command, ch ssh.Channel) {
	c.outputs.Wait()
	err := c.wait()
	s.register(c, false)
	ch.CloseWrite()
	var ee *exec.ExitError
	ws, _ := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case err == nil:
		sendExitStatus(ch, 0)
	case errors.As(err, &ee) && ws.Signaled():
		s.log.Printf("exec pid %d killed by %v", c.cmd.Process.Pid, ws.Signal())
		ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{signalName(ws.Signal()), ws.CoreDump(), "", ""}))
	case errors.As(err, &ee):
		sendExitStatus(ch, uint32(ee.ExitCode()))
	default:
		s.log.Printf("exec pid %d: %v", c.cmd.Process.Pid, err)
	}
	ch.Close()
}

func sendExitStatus(ch ssh.Channel, code uint32) {
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
}

// signalName spells a signal as RFC 4254 does (no SIG prefix).
func signalName(sig syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGABRT: "ABRT", syscall.SIGALRM: "ALRM", syscall.SIGFPE: "FPE",
		syscall.SIGHUP: "HUP", syscall.SIGILL: "ILL", syscall.SIGINT: "INT", syscall.SIGKILL: "KILL",
		syscall.SIGPIPE: "PIPE", syscall.SIGQUIT: "QUIT", syscall.SIGSEGV: "SEGV", syscall.SIGTERM: "TERM",
		syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2"}
	if n, ok := names[sig]; ok {
		return n
	}
	return sig.String()
}

// RunOnStart runs the config's boot command in the background, its output
// in onstart.log next to the workspace.
func (s *Server) RunOnStart() error {
	if s.cfg.OnStart == "" {
		return nil
	}
	out, err := os.OpenFile(filepath.Join(filepath.Dir(s.workspace), OnStartLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	c := &command{cmd: s.shell(s.cfg.OnStart, nil)}
	c.cmd.Stdout, c.cmd.Stderr = out, out
	err = c.cmd.Start()
	out.Close()
	if err != nil {
		return err
	}
	s.register(c, true)
	go func() {
		err := c.wait()
		s.register(c, false)
		s.log.Printf("onstart finished: %v", err)
	}()
	return nil
}
