package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		word string
		want string
	}{
		{1, "file", "1 file"}, {0, "file", "0 files"}, {2, "file", "2 files"},
		{1, "sync", "1 sync"}, {3, "sync", "3 syncs"},
		{1, "entry", "1 entry"}, {2, "entry", "2 entries"}, {2, "day", "2 days"},
		{2, "match", "2 matches"}, {2, "mismatch", "2 mismatches"}, {2, "pass", "2 passes"}, {2, "box", "2 boxes"},
		{-1, "byte", "-1 bytes"},
	} {
		if got := Count(c.n, c.word); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.word, got, c.want)
		}
	}
	if got := Of(1, "file lost", "files lost"); got != "1 file lost" {
		t.Errorf("Of(1) = %q", got)
	}
	if got := Of(4, "file lost", "files lost"); got != "4 files lost" {
		t.Errorf("Of(4) = %q", got)
	}
}
