package ledger

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment of a child process started by TestConcurrentProcesses.
const (
	childDir = "SCN_LEDGER_CHILD_DIR"
	childID  = "SCN_LEDGER_CHILD_ID"
	childN   = "SCN_LEDGER_CHILD_N"
)

// TestChildAppends is the body of the child processes: it appends N
// intent+created pairs and exits. Run directly, it does nothing.
func TestChildAppends(t *testing.T) {
	dir := os.Getenv(childDir)
	if dir == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv(childN))
	id := os.Getenv(childID)
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Labels longer than a page and than PIPE_BUF: an interleaving write
	// would show up as a broken line.
	pad := strings.Repeat(id, 6000/len(id))
	for i := range n {
		ref, err := l.Intent(Entry{Run: id, Step: strconv.Itoa(i), Label: pad})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Created(ref, fmt.Sprintf("%s-%d", id, i), map[string]string{"pad": pad}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs, n = 4, 60
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmds := make([]*exec.Cmd, procs)
	outs := make([]bytes.Buffer, procs)
	for p := range cmds {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildAppends$", "-test.count=1")
		cmd.Env = append(os.Environ(), childDir+"="+dir, childID+"=p"+strconv.Itoa(p), childN+"="+strconv.Itoa(n))
		cmd.Stdout, cmd.Stderr = &outs[p], &outs[p]
		must(t, cmd.Start())
		cmds[p] = cmd
	}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", p, err, outs[p].String())
		}
	}

	checkIntact(t, dir, procs*n*2)
	l := open(t, dir)
	recs, skipped, err := l.Records()
	must(t, err)
	if skipped != 0 || len(recs) != procs*n {
		t.Fatalf("%d records, %d skipped; want %d, 0", len(recs), skipped, procs*n)
	}
	next := map[string]int{} // per child, steps must appear in order
	for _, r := range recs {
		step, _ := strconv.Atoi(r.Step)
		if step != next[r.Run] || r.ID != fmt.Sprintf("%s-%d", r.Run, step) || r.State != StateCreated ||
			r.Label != strings.Repeat(r.Run, 6000/len(r.Run)) || r.Extra["pad"] != r.Label {
			t.Fatalf("record out of order or mixed: run %s step %s id %s state %s", r.Run, r.Step, r.ID, r.State)
		}
		next[r.Run]++
	}
	for p := range procs {
		if got := next["p"+strconv.Itoa(p)]; got != n {
			t.Errorf("child p%d: %d records, want %d", p, got, n)
		}
	}
}
