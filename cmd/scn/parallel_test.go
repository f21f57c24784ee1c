package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

func TestShardPickIsAPartitionIndependentOfOrder(t *testing.T) {
	files := []string{"scenarios/b.yaml", "./scenarios/a.yaml", "scenarios/c.yaml", "scenarios/x/../d.yaml", "e.yaml", "scenarios/a.yaml"}
	all := map[string]int{}
	for n := 1; n <= 7; n++ {
		var sizes []int
		for i := 1; i <= n; i++ {
			sh := shard{i, n}
			got := sh.pick(files)
			for range 5 { // any argument order gives the same shard
				shuffled := slices.Clone(files)
				rand.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
				if again := sh.pick(shuffled); !slices.Equal(again, got) {
					t.Fatalf("shard %d/%d: %v for %v but %v for %v", i, n, got, files, again, shuffled)
				}
			}
			for _, f := range got {
				all[fmt.Sprint(n, f)]++
			}
			sizes = append(sizes, len(got))
		}
		total := 0
		for _, s := range sizes {
			total += s
		}
		// 5 distinct files once cleaned: every one in exactly one shard, sizes within one of each other.
		if total != 5 || slices.Max(sizes)-slices.Min(sizes) > 1 {
			t.Errorf("n=%d: shard sizes %v, want 5 files spread evenly", n, sizes)
		}
	}
	for k, c := range all {
		if c != 1 {
			t.Errorf("%s picked by %d shards", k, c)
		}
	}
	if got := (shard{1, 2}).pick(files); !slices.Equal(got, []string{"e.yaml", "scenarios/b.yaml", "scenarios/d.yaml"}) {
		t.Errorf("shard 1/2 = %v: want sorted paths dealt round-robin", got)
	}
}

func TestParseShard(t *testing.T) {
	if sh, err := parseShard(" 2 / 3 "); err != nil || sh != (shard{2, 3}) {
		t.Errorf("parseShard(2/3) = %v, %v", sh, err)
	}
	for _, bad := range []string{"", "1", "0/3", "4/3", "1/0", "-1/2", "a/2", "1/2/3"} {
		if _, err := parseShard(bad); err == nil {
			t.Errorf("parseShard(%q) accepted", bad)
		}
	}
}

func TestPrefixWriterKeepsLinesWhole(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	var wg sync.WaitGroup
	writers := map[string]*prefixWriter{}
	for _, name := range []string{"[a] ", "[bb] ", "[c] "} {
		writers[name] = &prefixWriter{mu: &mu, w: &out, prefix: name}
	}
	for name, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				line := fmt.Sprintf("%s line %d of %s\n", name, i, name)
				// Lines arrive in pieces, as the console and reports write them.
				for len(line) > 0 {
					n := min(len(line), 1+rand.IntN(7))
					w.Write([]byte(line[:n]))
					line = line[n:]
				}
			}
			w.Write([]byte("no newline"))
			w.Flush()
		}()
	}
	wg.Wait()
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		name := l[:strings.Index(l, "] ")+2]
		if l != name+"no newline" && !strings.HasPrefix(l, name+name+" line ") || !strings.HasSuffix(l, name) && l != name+"no newline" {
			t.Fatalf("line cut or mixed: %q", l)
		}
		counts[name]++
	}
	for name := range writers {
		if counts[name] != 201 {
			t.Errorf("%s: %d lines, want 201", name, counts[name])
		}
	}
}

func TestPrefixesAreUniqueAndAligned(t *testing.T) {
	got := prefixes([]string{"realtime-sync", "a", "a"})
	want := []string{"[realtime-sync] ", "[a]             ", "[a#2]           "}
	if !slices.Equal(got, want) {
		t.Errorf("prefixes = %q, want %q", got, want)
	}
}

func TestRunJobsBoundsConcurrency(t *testing.T) {
	jobs := make([]*job, 6)
	for i := range jobs {
		jobs[i] = &job{name: fmt.Sprint(i)}
	}
	var running, most atomic.Int32
	started := make(chan *job)
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		runJobs(context.Background(), jobs, 2, func(jb *job) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			started <- jb
			<-release
			running.Add(-1)
			jb.j = &journal.Journal{Scenario: jb.name}
		})
		close(done)
	}()
	var order []string
	for range jobs {
		jb := <-started
		order = append(order, jb.name)
		if len(order) >= 2 {
			release <- struct{}{} // let one finish so the next can start
		}
	}
	release <- struct{}{}
	<-done
	if most.Load() != 2 {
		t.Errorf("at most %d ran at once, want exactly 2", most.Load())
	}
	first := slices.Sorted(slices.Values(order[:2]))
	if !slices.Equal(first, []string{"0", "1"}) || !slices.Equal(order[2:], []string{"2", "3", "4", "5"}) {
		t.Errorf("start order %v: jobs must start in list order", order)
	}
	for _, jb := range jobs {
		if jb.j == nil || jb.notRun != "" {
			t.Errorf("job %s did not run", jb.name)
		}
	}
}

func TestRunJobsStartsNothingAfterAnInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	jobs := []*job{{name: "first"}, {name: "second"}, {name: "third"}}
	var ran []string
	runJobs(ctx, jobs, 1, func(jb *job) {
		ran = append(ran, jb.name)
		cancel(errors.New("interrupted by SIGINT (Ctrl+C)"))
	})
	if !slices.Equal(ran, []string{"first"}) {
		t.Fatalf("ran %v after the interrupt, want only the first", ran)
	}
	for _, jb := range jobs[1:] {
		if jb.notRun != "not started: interrupted by SIGINT (Ctrl+C)" {
			t.Errorf("job %s: notRun %q", jb.name, jb.notRun)
		}
	}
	var b strings.Builder
	jobs[0].j = &journal.Journal{Status: journal.StatusInterrupted, Seconds: 75}
	writeCombined(&b, jobs)
	for _, want := range []string{"3 scenarios · 1 interrupted · 2 not run", "INTERRUPTED  first   1m15s", "NOT RUN      second", "not started: interrupted"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("combined summary lacks %q:\n%s", want, b.String())
		}
	}
}
