package local

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killSession SIGKILLs every process left in session sid and waits (up to
// killWait) for them to die: the sandbox was the session's leader (Setsid),
// so that is everything it ever started, even commands that outlived it.
// Linux keeps a session id from being reused while any process is in it, so
// this cannot hit strangers.
func killSession(sid int) {
	if sid <= 1 {
		return
	}
	deadline := time.Now().Add(killWait)
	for {
		members := sessionMembers(sid)
		if len(members) == 0 || time.Now().After(deadline) {
			return
		}
		for _, pid := range members {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sessionMembers lists live (non-zombie) processes in session sid.
func sessionMembers(sid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...; comm may hold spaces and ')'.
		rest := string(stat)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 4 || f[0] == "Z" {
			continue
		}
		if s, err := strconv.Atoi(f[3]); err == nil && s == sid {
			out = append(out, pid)
		}
	}
	return out
}
