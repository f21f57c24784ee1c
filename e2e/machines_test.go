package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scnlabs/scn/internal/remote/sshtest"
)

// machineSet stands for the machines one cloud fake rents out, each a real
// SSH server on 127.0.0.1. A provider reports one workspace path for all
// its machines (VAST's /workspace, the standby VM's /workspace); here that
// path is a temporary folder, and each machine that boots gets a fresh,
// empty one there — the previous machine's disk is moved aside (it stays
// readable for assertions). A machine the cloud destroys or reclaims is
// released: its SSH server stops at once, as a real machine stops
// answering. Two machines of one set up at once would share the folder:
// boot fails the test if that happens.
//
// Machines of different sets are different computers as far as scn can
// tell: each set has its own workspace path, so a file reaches another
// set's machine only through what scn copies there.
type machineSet struct {
	t         *testing.T
	kind      string // "GPU", "standby VM": for messages
	Workspace string // what every machine of the set reports
	disks     string // where the disks of gone machines are moved
	homes     string // each machine's HOME, by id
	dropFirst int    // connections each SSH server drops before answering

	mu       sync.Mutex
	current  string
	servers  map[string]*sshtest.Server
	released map[string]bool
}

func newMachineSet(t *testing.T, kind string, dropFirst int) *machineSet {
	root := t.TempDir()
	return &machineSet{t: t, kind: kind, Workspace: filepath.Join(root, "workspace"), disks: filepath.Join(root, "disks"), homes: filepath.Join(root, "homes"),
		dropFirst: dropFirst, servers: map[string]*sshtest.Server{}, released: map[string]bool{}}
}

// boot starts machine id on a fresh workspace, accepting keys; it returns
// the address of its SSH server.
func (m *machineSet) boot(id string, keys []string) (string, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(keys) == 0 {
		return "", 0, fmt.Errorf("%s %s boots with no authorized key", m.kind, id)
	}
	if m.current != "" {
		if !m.released[m.current] {
			m.t.Errorf("%s %s boots while %s %s still runs: both would use %s", m.kind, id, m.kind, m.current, m.Workspace)
		}
		m.servers[m.current].Close()
		if err := os.MkdirAll(m.disks, 0o755); err != nil {
			return "", 0, err
		}
		if err := os.Rename(m.Workspace, filepath.Join(m.disks, m.current)); err != nil {
			return "", 0, err
		}
	}
	if err := os.Mkdir(m.Workspace, 0o755); err != nil {
		return "", 0, err
	}
	// Each machine has its own HOME: what scn installs there (its agent)
	// is not on the next machine.
	home := filepath.Join(m.homes, id)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", 0, err
	}
	srv := sshtest.Start(m.t, sshtest.Options{AuthorizedKeys: keys, Dir: m.Workspace, DropFirst: m.dropFirst, Home: home})
	m.current, m.servers[id] = id, srv
	return srv.Host, srv.Port, nil
}

// release stops machine id's SSH server, closing its connections and
// killing its commands: the cloud destroyed or reclaimed it. Its disk
// stays where it is until the next machine boots.
func (m *machineSet) release(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if srv := m.servers[id]; srv != nil && !m.released[id] {
		m.released[id] = true
		srv.Close()
	}
}

// Disk is where the files of machine id are: its disk once moved aside,
// the workspace while it is the current machine.
func (m *machineSet) Disk(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == m.current {
		return m.Workspace
	}
	return filepath.Join(m.disks, id)
}

// Homes is the folder of the machines' HOMEs (one per machine id).
func (m *machineSet) Homes() string { return m.homes }

// Server is the SSH server machine id got, or nil.
func (m *machineSet) Server(id string) *sshtest.Server {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.servers[id]
}

// Booted lists the machines that booted, in no particular order.
func (m *machineSet) Booted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.servers {
		ids = append(ids, id)
	}
	return ids
}
