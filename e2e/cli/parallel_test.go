package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// meeting rents an instance, then on it marks its own arrival in $MEET and
// waits (bounded) for the other scenario's mark: the two can only both
// pass when they run at the same time.
func meeting(name, mine, theirs string) string {
	return fmt.Sprintf(`name: %s
steps:
  - id: gpu
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: meet
    action: ssh.exec
    with:
      on: "${{ steps.gpu }}"
      command: "touch ${{ env.MEET }}/%s; for i in $(seq 600); do test -f ${{ env.MEET }}/%s && exit 0; sleep 0.1; done; exit 1"
`, name, mine, theirs)
}

func TestParallelRunsAtOnceAndApart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	meet := filepath.Join(e.dir, "meet")
	if err := os.Mkdir(meet, 0o755); err != nil {
		t.Fatal(err)
	}
	e.extra = append(e.extra, "MEET="+meet)
	a := e.write("a.yaml", meeting("alpha", "a", "b"))
	b := e.write("b.yaml", meeting("beta", "b", "a"))
	r := e.scn("run", "--parallel", "2", a, b)
	if r.code != 0 {
		t.Fatalf("run --parallel 2: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// Each run is its own: own run id, label, ledger entry, run directory.
	recs := e.records()
	if len(recs) != 2 || recs[0].Run == recs[1].Run || recs[0].Label == recs[1].Label || recs[0].ID == recs[1].ID {
		t.Fatalf("ledger records %+v: want two instances of two runs", recs)
	}
	e.assertLedgerClosed()
	for _, rec := range recs {
		e.assertNoSandbox(rec.ID)
		j := readJournal(t, filepath.Join(e.state, "runs", rec.Run, "journal.json"))
		if j.Status != "passed" || len(j.Resources) != 1 || j.Resources[0].ID != rec.ID {
			t.Errorf("journal of run %s: %s with resources %+v; want passed with instance %s", rec.Run, j.Status, j.Resources, rec.ID)
		}
	}
	// Live lines carry their scenario's name; every line is whole.
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" || strings.HasPrefix(l, "scn · ") || strings.HasPrefix(l, "  PASS") {
			continue
		}
		if !strings.HasPrefix(l, "[alpha] ") && !strings.HasPrefix(l, "[beta]  ") {
			t.Errorf("line without its run's prefix: %q", l)
		}
	}
	for _, want := range []string{"[alpha] PASS  alpha", "[beta]  PASS  beta", "scn · 2 scenarios · 2 pass"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, rec := range recs {
		if !regexp.MustCompile(`(?m)^  PASS +(alpha|beta) +\S+ +\$0\.\d{4} \(simulated\) +- +` + regexp.QuoteMeta(filepath.Join(e.state, "runs", rec.Run)) + `$`).MatchString(r.stdout) {
			t.Errorf("no summary line for run %s:\n%s", rec.Run, r.stdout)
		}
	}
}

func TestShardSplitsFilesTheSameWayEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var files []string
	for i := 1; i <= 5; i++ {
		files = append(files, e.write(fmt.Sprintf("s%d.yaml", i), fmt.Sprintf("name: s%d\nsteps:\n  - action: log\n    with: { message: s%d }\n", i, i)))
	}
	ran := func(shard string, args []string) []string {
		r := e.scn(append([]string{"run", "--shard", shard}, args...)...)
		if r.code != 0 {
			t.Fatalf("run --shard %s: exit %d\n%s%s", shard, r.code, r.stdout, r.stderr)
		}
		var names []string
		for _, m := range regexp.MustCompile(`(?m)^  PASS +(s\d)`).FindAllStringSubmatch(r.stdout, -1) {
			names = append(names, m[1])
		}
		return names
	}
	reversed := slices.Clone(files)
	slices.Reverse(reversed)
	// Sorted by path and dealt round-robin: 1/2 gets s1, s3, s5; 2/2 gets s2, s4.
	for _, c := range []struct {
		shard string
		args  []string
		want  []string
	}{
		{"1/2", files, []string{"s1", "s3", "s5"}},
		{"1/2", reversed, []string{"s1", "s3", "s5"}},
		{"2/2", reversed, []string{"s2", "s4"}},
		{"2/2", append(slices.Clone(files), files[1]), []string{"s2", "s4"}}, // a file given twice runs once
	} {
		if got := ran(c.shard, c.args); !slices.Equal(got, c.want) {
			t.Errorf("--shard %s over %d files ran %v, want %v", c.shard, len(c.args), got, c.want)
		}
	}
	r := e.scn("run", "--shard", "3/3", files[0], files[1])
	if r.code != 0 || !strings.Contains(r.stderr, "nothing to run") {
		t.Errorf("empty shard: exit %d\n%s", r.code, r.stderr)
	}
	for _, bad := range []string{"0/2", "3/2", "2", "a/b", "1/0"} {
		if r := e.scn("run", "--shard", bad, files[0]); r.code != 2 || !strings.Contains(r.stderr, "--shard") {
			t.Errorf("--shard %s: exit %d, want 2\n%s", bad, r.code, r.stderr)
		}
	}
}

func TestSignalsReachEveryParallelRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	one := e.write("one.yaml", strings.Replace(slowCleanup, "name: sleepy", "name: one", 1))
	two := e.write("two.yaml", strings.Replace(slowCleanup, "name: sleepy", "name: two", 1))
	p := e.start("run", "--parallel", "2", one, two)
	p.waitOutput("[one] [1/3] gpu ... ok")
	p.waitOutput("[two] [1/3] gpu ... ok")
	ids := e.createdIDs(2)
	p.signal(syscall.SIGINT)
	// The first signal stops both; their finally steps now linger.
	p.waitOutput("[one] [2/3] nap ... canceled")
	p.waitOutput("[two] [2/3] nap ... canceled")
	p.signal(syscall.SIGINT)
	if code := p.wait(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, p.stderr)
	}
	for _, rec := range e.records() {
		for _, want := range []string{"still alive: instance " + rec.ID + " (local) from step gpu", "clean up with: scn cleanup --run " + rec.Run} {
			if !strings.Contains(p.stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
			}
		}
	}
	if r := e.scn("cleanup"); r.code != 0 {
		t.Fatalf("cleanup: exit %d\n%s", r.code, r.stdout)
	}
	for _, id := range ids {
		e.assertNoSandbox(id)
	}
	e.assertLedgerClosed()
}
