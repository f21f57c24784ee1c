package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/session"
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

// The closing word of several scenarios counts every verdict and lists
// what never started, and why.
func TestCombinedSummaryCountsEveryRun(t *testing.T) {
	runs := []*session.Run{
		{Name: "first", Journal: &journal.Journal{Status: journal.StatusInterrupted, Seconds: 75}},
		{Name: "second", NotRun: "not started: interrupted by SIGINT (Ctrl+C)"},
		{Name: "third", NotRun: "not started: interrupted by SIGINT (Ctrl+C)"},
	}
	var b strings.Builder
	writeCombined(&b, runs)
	for _, want := range []string{"3 scenarios · 1 interrupted · 2 not run", "INTERRUPTED  first   1m15s", "NOT RUN      second", "not started: interrupted"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("combined summary lacks %q:\n%s", want, b.String())
		}
	}
}
