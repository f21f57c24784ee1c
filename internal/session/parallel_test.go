package session

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

func TestRunAllBoundsConcurrency(t *testing.T) {
	runs := make([]*Run, 6)
	for i := range runs {
		runs[i] = &Run{Name: fmt.Sprint(i)}
	}
	var running, most atomic.Int32
	started := make(chan *Run)
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		runAll(context.Background(), runs, 2, func(r *Run) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			started <- r
			<-release
			running.Add(-1)
			r.Journal = &journal.Journal{Scenario: r.Name}
		})
		close(done)
	}()
	var order []string
	for range runs {
		r := <-started
		order = append(order, r.Name)
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
		t.Errorf("start order %v: runs must start in list order", order)
	}
	for _, r := range runs {
		if r.Journal == nil || r.NotRun != "" {
			t.Errorf("run %s did not run", r.Name)
		}
	}
}

func TestRunAllStartsNothingAfterAnInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	runs := []*Run{{Name: "first"}, {Name: "second"}, {Name: "third"}}
	var ran []string
	runAll(ctx, runs, 1, func(r *Run) {
		ran = append(ran, r.Name)
		cancel(errors.New("interrupted by SIGINT (Ctrl+C)"))
	})
	if !slices.Equal(ran, []string{"first"}) {
		t.Fatalf("ran %v after the interrupt, want only the first", ran)
	}
	for _, r := range runs[1:] {
		if r.NotRun != "not started: interrupted by SIGINT (Ctrl+C)" {
			t.Errorf("run %s: NotRun %q", r.Name, r.NotRun)
		}
	}
}
