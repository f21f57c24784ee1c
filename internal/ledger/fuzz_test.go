package ledger

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadLedger feeds arbitrary bytes to the reader (it must not panic nor
// return nonsense), then uses them as an existing ledger file: an append
// after any content must come back as a record, and must not change how
// the old content reads.
func FuzzReadLedger(f *testing.F) {
	f.Add([]byte(`{"v":1,"t":"2026-01-01T00:00:00Z","op":"intent","ref":"a","label":"scn-r-gpu"}` + "\n"))
	f.Add([]byte(`{"v":1,"op":"created","ref":"a","id":"7"}` + "\n" + `{"v":1,"op":"destr`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, skipped, err := Read(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Read of in-memory data failed: %v", err)
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		if skipped < 0 || skipped+len(recs) > lines { // a line makes at most one record or one skip
			t.Fatalf("%d records, %d skipped from %d lines", len(recs), skipped, lines)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			if r.Ref == "" || seen[r.Ref] {
				t.Fatalf("record with empty or repeated ref %q", r.Ref)
			}
			seen[r.Ref] = true
			switch r.State {
			case StateIntent, StateCreated, StateDestroyed, StateFailed:
			default:
				t.Fatalf("record %q in state %q", r.Ref, r.State)
			}
		}

		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		l.sync = func(*os.File) error { return nil } // durability is not under test here
		ref, err := l.Intent(Entry{Run: "fuzz", Label: "scn-fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		after, skippedAfter, err := l.Records()
		if err != nil {
			t.Fatal(err)
		}
		last := after[len(after)-1]
		if len(after) != len(recs)+1 || skippedAfter != skipped || last.Ref != ref || last.Label != "scn-fuzz" {
			t.Fatalf("after an append: %d records (was %d), %d skipped (was %d), last %+v",
				len(after), len(recs), skippedAfter, skipped, last)
		}
	})
}
