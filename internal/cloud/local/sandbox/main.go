package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// EnvReadyFD names the environment variable carrying the number of a file
// descriptor the sandbox closes once it holds its lock and has written its
// first state: the provider's signal that the process is up.
const EnvReadyFD = "SCN_SANDBOX_READY_FD"

// lockWait bounds how long a starting sandbox waits for its lock (a
// provider checking liveness holds it for an instant).
const lockWait = 3 * time.Second

// Main runs the sandbox process over dir until SIGTERM (exit 0), a fatal
// error (exit 1, reason in sandbox.log) or a preempt_after fault (SIGKILL).
func Main(dir string) int {
	dir, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox %s: %v\n", dir, err)
		return 1
	}
	logf, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox %s: %v\n", dir, err)
		return 1
	}
	defer logf.Close()
	logger := log.New(logf, fmt.Sprintf("sandbox[%d] ", os.Getpid()), log.LstdFlags|log.Lmicroseconds)
	if err := run(dir, logger); err != nil {
		logger.Printf("fatal: %v", err)
		signalReady() // let a waiting provider see the process is gone
		return 1
	}
	logger.Printf("stopped")
	return 0
}

func run(dir string, logger *log.Logger) error {
	lock, err := Lock(dir, lockWait)
	if err != nil {
		return err
	}
	defer lock.Close()
	var cfg Config
	if err := ReadJSON(filepath.Join(dir, ConfigFile), &cfg); err != nil {
		return err
	}
	st := State{PID: os.Getpid(), StartedAt: time.Now().UTC(), Status: StatusLoading}
	if err := WriteJSON(filepath.Join(dir, StateFile), st); err != nil {
		return err
	}
	signalReady()
	logger.Printf("started for %q", cfg.Label)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	signal.Ignore(syscall.SIGHUP)
	if d := cfg.Faults.BootDelay; d > 0 {
		logger.Printf("fault boot_delay: loading for %s", d)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
	}
	hostKey, err := remote.LoadOrCreateKey(filepath.Join(dir, HostKeyDir))
	if err != nil {
		return err
	}
	srv, err := NewServer(dir, cfg, hostKey.Signer, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	st.Port, st.HostKey, st.Status = ln.Addr().(*net.TCPAddr).Port, hostKey.AuthorizedKey, StatusRunning
	if err := WriteJSON(filepath.Join(dir, StateFile), st); err != nil {
		srv.Close()
		return err
	}
	logger.Printf("listening on %s", ln.Addr())
	if err := srv.RunOnStart(); err != nil {
		logger.Printf("onstart: %v", err)
	}
	var preempt <-chan time.Time
	if d := cfg.Faults.PreemptAfter; d > 0 {
		preempt = time.After(d)
	}
	select {
	case <-ctx.Done():
		logger.Printf("asked to stop")
		srv.Close()
		return nil
	case err := <-served:
		srv.Close()
		return err
	case <-preempt:
		logger.Printf("fault preempt_after: killing myself after %s, leaving the disk", cfg.Faults.PreemptAfter)
		srv.KillCommands()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the kernel ends this process
	}
}

// signalReady closes the descriptor named by EnvReadyFD, if any.
func signalReady() {
	fd, err := strconv.Atoi(os.Getenv(EnvReadyFD))
	if err != nil || fd < 3 {
		return
	}
	os.Unsetenv(EnvReadyFD)
	os.NewFile(uintptr(fd), "ready").Close()
}

// Lock takes the exclusive lock on dir's lock file, waiting up to wait for
// it. The live sandbox holds it for its whole life, so "lock taken" means
// "the sandbox process is alive" whatever happened to its pid.
func Lock(dir string, wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w (is another sandbox serving this folder?)", f.Name(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Alive reports whether a sandbox process holds dir's lock. A missing lock
// file means no sandbox ever ran there.
func Alive(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, LockFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("check lock %s: %w", f.Name(), err)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, nil
}
