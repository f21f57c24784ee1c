package scenarios_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// drill is a scenario file loaded as YAML so a test can change it the way
// a fault needs (make it wait for a preemption, retry its snapshot steps)
// without a copy of every drill to keep in step with the original.
type drill struct {
	file string
	doc  yaml.Node
}

func loadDrill(t *testing.T, file string) *drill {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d := &drill{file: file}
	if err := yaml.Unmarshal(data, &d.doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

// save writes the changed drill under the test's temp dir and returns its path.
func (d *drill) save(t *testing.T) string {
	t.Helper()
	data, err := yaml.Marshal(&d.doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(d.file))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// steps returns the nodes of the drill's steps: list.
func (d *drill) steps() (*yaml.Node, error) {
	if len(d.doc.Content) == 0 || d.doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	if s := value(d.doc.Content[0], "steps"); s != nil && s.Kind == yaml.SequenceNode {
		return s, nil
	}
	return nil, errors.New("no steps: list")
}

// value is the node under key in mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// holdID is the id of the step a hold inserts.
const holdID = "fault_hold"

// Steps inserted after the drill's files are written: formats taking the
// instance reference.
const (
	// holdUntilExited polls instance.status until the provider reports the
	// instance exited: the preemption lands between two steps, for sure.
	holdUntilExited = `id: fault_hold
name: Wait until the instance is preempted
action: instance.status
with: { id: %s }
until: { expr: "state == 'exited'", interval: 100ms, timeout: 60s }
`
	// holdCommand runs a long command on the instance: the preemption
	// lands while it runs.
	holdCommand = `id: fault_hold
name: Run a command until the instance is preempted
action: ssh.exec
with: { on: %s, command: "sleep 60", timeout: 75s }
`
	// fillWorkspace adds a 384 kB random file to the workspace, made on
	// the machine itself so a slow link does not slow its writing, only
	// the snapshot that follows.
	fillWorkspace = `id: fault_fill
name: Add a big file to the workspace
action: ssh.exec
with: { on: %s, command: "head -c 393216 /dev/urandom > fault-fill.bin" }
`
)

// afterFiles inserts a step (a format taking the instance reference) right
// after the drill's first files.create step, on the instance that step
// wrote to: the drill's files exist, its snapshot is still to come.
func (d *drill) afterFiles(step string) error {
	steps, err := d.steps()
	if err != nil {
		return err
	}
	for i, s := range steps.Content {
		if a := value(s, "action"); a == nil || a.Value != "files.create" {
			continue
		}
		on := value(value(s, "with"), "on")
		if on == nil || on.Kind != yaml.ScalarNode {
			return fmt.Errorf("step #%d (files.create) has no with.on to hold on", i+1)
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(fmt.Sprintf(step, strconv.Quote(on.Value))), &n); err != nil {
			return fmt.Errorf("inserted step: %w", err)
		}
		steps.Content = append(steps.Content[:i+1], append([]*yaml.Node{n.Content[0]}, steps.Content[i+1:]...)...)
		return nil
	}
	return errors.New("no files.create step to hold after: give the drill one, or teach afterFiles its shape")
}

// retry gives every step whose action starts with prefix
// `retry: {attempts: n}` (no delay: the faults it meets are not timed).
func (d *drill) retry(prefix string, n int) error {
	steps, err := d.steps()
	if err != nil {
		return err
	}
	found := false
	for _, s := range steps.Content {
		if a := value(s, "action"); a == nil || !strings.HasPrefix(a.Value, prefix) {
			continue
		}
		if value(s, "retry") != nil {
			return fmt.Errorf("step %s already has retry:", value(s, "id").Value)
		}
		var r yaml.Node
		if err := yaml.Unmarshal([]byte(fmt.Sprintf("{attempts: %d}", n)), &r); err != nil {
			return err
		}
		s.Content = append(s.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "retry"}, r.Content[0])
		found = true
	}
	if !found {
		return fmt.Errorf("no %s* step to retry", prefix)
	}
	return nil
}
