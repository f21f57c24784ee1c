package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func open(t *testing.T, dir string, opts ...Option) *Ledger {
	t.Helper()
	l, err := Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func intent(t *testing.T, l *Ledger, e Entry) string {
	t.Helper()
	ref, err := l.Intent(e)
	must(t, err)
	return ref
}

// fileLines returns the raw lines of the ledger file, without their '\n'.
func fileLines(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	must(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	clk := &clock{t: t0}
	l := open(t, dir, WithClock(clk.now))
	gpu := Entry{Run: "r1", Step: "gpu", Kind: KindInstance, Provider: "vast", Target: "vast", Label: "scn-r1-gpu"}

	live := intent(t, l, gpu)
	clk.set(t0.Add(time.Minute))
	must(t, l.Created(live, "4242", map[string]string{"price": "0.41"}))

	failed := intent(t, l, Entry{Run: "r1", Step: "gpu2", Kind: KindInstance, Provider: "vast", Label: "scn-r1-gpu2"})
	must(t, l.Failed(failed, "offer 7 is no longer available"))

	gone := intent(t, l, Entry{Run: "r1", Step: "snap", Kind: KindSnapshot, Provider: "store", Label: "scn-r1-snap"})
	must(t, l.Created(gone, "snapshots/s1", map[string]string{"key": "snapshots/s1/manifest.json"}))
	must(t, l.Destroyed(gone, "already gone"))

	pending := intent(t, l, Entry{Run: "r1", Step: "standby", Kind: KindStandby, Provider: "gcp", Label: "scn-r1-standby"})
	must(t, l.Close())

	// Another process (here: another Ledger) sees the same history.
	l2 := open(t, dir, WithClock(clk.now))
	recs, skipped, err := l2.Records()
	must(t, err)
	if skipped != 0 || len(recs) != 4 {
		t.Fatalf("got %d records, %d skipped; want 4, 0", len(recs), skipped)
	}
	want := map[string]struct{ state, id, note string }{
		live:    {StateCreated, "4242", ""},
		failed:  {StateFailed, "", "offer 7 is no longer available"},
		gone:    {StateDestroyed, "snapshots/s1", "already gone"},
		pending: {StateIntent, "", ""},
	}
	for _, r := range recs {
		w := want[r.Ref]
		if r.State != w.state || r.ID != w.id || r.Note != w.note {
			t.Errorf("%s (%s): state=%q id=%q note=%q, want %+v", r.Ref, r.Step, r.State, r.ID, r.Note, w)
		}
	}
	r := recs[0]
	if r.Ref != live || r.Run != "r1" || r.Step != "gpu" || r.Kind != KindInstance || r.Provider != "vast" ||
		r.Target != "vast" || r.Label != "scn-r1-gpu" || r.Extra["price"] != "0.41" {
		t.Errorf("first record = %+v", r)
	}
	if !r.IntentAt.Equal(t0) || r.IntentAt.Location() != time.UTC || !r.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("times: intent %v created %v", r.IntentAt, r.CreatedAt)
	}

	left, err := l2.Leftovers(Filter{})
	must(t, err)
	if len(left) != 2 || left[0].Ref != live || left[1].Ref != pending {
		t.Fatalf("leftovers = %+v, want %s then %s", left, live, pending)
	}

	// The raw format: every line has v, an RFC3339Nano UTC time and an op.
	for _, s := range fileLines(t, dir) {
		var m map[string]any
		must(t, json.Unmarshal([]byte(s), &m))
		ts, _ := m["t"].(string)
		if m["v"] != float64(Version) || !strings.HasSuffix(ts, "Z") || m["op"] == nil || m["ref"] == nil {
			t.Errorf("line %s lacks v/t/op/ref", s)
		}
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("line %s: time: %v", s, err)
		}
	}
	if lines := fileLines(t, dir); !strings.Contains(lines[0], `"t":"2026-03-01T11:00:00.123456789Z"`) {
		t.Errorf("first line %s: want the nanosecond UTC time", lines[0])
	}
}

func TestRecordSurvivesLostIntentLine(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	ref := intent(t, l, Entry{Run: "r", Step: "gpu", Kind: KindInstance, Provider: "vast", Label: "scn-r-gpu"})
	must(t, l.Created(ref, "99", nil))
	// Lose the intent line (as a disk could), keep the created one.
	lines := fileLines(t, dir)
	must(t, os.WriteFile(filepath.Join(dir, FileName), []byte(lines[1]+"\n"), 0o644))

	left, err := l.Leftovers(Filter{Pattern: "scn-r-*"})
	must(t, err)
	if len(left) != 1 || left[0].ID != "99" || left[0].Provider != "vast" || left[0].Label != "scn-r-gpu" ||
		left[0].Since().IsZero() {
		t.Fatalf("leftovers = %+v: created line must carry the entry", left)
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir) // two open files: flock matters between them too
	const workers, per = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		l := a
		if w%2 == 1 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				ref, err := l.Intent(Entry{Run: fmt.Sprint("w", w), Label: fmt.Sprintf("w%d-%d-%s", w, i, strings.Repeat("x", 3000))})
				if err == nil {
					err = l.Created(ref, fmt.Sprint(i), nil)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkIntact(t, dir, workers*per*2)
	recs, skipped, err := a.Records()
	must(t, err)
	if skipped != 0 || len(recs) != workers*per {
		t.Fatalf("%d records, %d skipped; want %d, 0", len(recs), skipped, workers*per)
	}
	for _, r := range recs {
		if r.State != StateCreated || !strings.HasPrefix(r.Label, r.Run+"-"+r.ID+"-") {
			t.Fatalf("record mixed up: run %s id %s label %.20s state %s", r.Run, r.ID, r.Label, r.State)
		}
	}
}

// checkIntact asserts the file holds exactly n lines, each a whole JSON object.
func checkIntact(t *testing.T, dir string, n int) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, FileName))
	must(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, maxLine)
	got := 0
	for sc.Scan() {
		got++
		var ln line
		if err := json.Unmarshal(sc.Bytes(), &ln); err != nil || ln.V != Version {
			t.Fatalf("line %d is not a whole ledger line (%v): %.120s", got, err, sc.Text())
		}
	}
	must(t, sc.Err())
	if got != n {
		t.Fatalf("%d lines, want %d", got, n)
	}
}

func TestTornLastLine(t *testing.T) {
	for _, tc := range []struct {
		name, tail string
		skipped    int // lines skipped before and after the repair
		recovered  bool
	}{
		{"cut mid-object", `{"v":1,"t":"2026-01-01T00:00:00Z","op":"intent","ref":"torn","label":"scn-x`, 1, false},
		{"object without newline", `{"v":1,"t":"2026-01-01T00:00:00Z","op":"intent","ref":"torn","label":"scn-x"}`, 0, true},
		{"zeros after a crash", "\x00\x00\x00\x00", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir)
			first := intent(t, l, Entry{Run: "r", Label: "scn-r-a"})
			f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_WRONLY|os.O_APPEND, 0)
			must(t, err)
			_, err = f.WriteString(tc.tail)
			must(t, err)
			must(t, f.Close())

			check := func(wantRecs int) {
				t.Helper()
				recs, skipped, err := l.Records()
				must(t, err)
				if skipped != tc.skipped || len(recs) != wantRecs {
					t.Fatalf("%d records, %d skipped; want %d, %d", len(recs), skipped, wantRecs, tc.skipped)
				}
				if recs[0].Ref != first {
					t.Fatalf("first record %s, want %s", recs[0].Ref, first)
				}
				if tc.recovered && recs[1].Ref != "torn" {
					t.Fatalf("second record %s, want torn", recs[1].Ref)
				}
			}
			base := 1
			if tc.recovered {
				base = 2
			}
			check(base)

			// The next append (from a fresh process) starts on a new line.
			next := intent(t, open(t, dir), Entry{Run: "r", Label: "scn-r-b"})
			check(base + 1)
			lines := fileLines(t, dir)
			if len(lines) != 3 || lines[1] != tc.tail || !strings.Contains(lines[2], next) {
				t.Fatalf("lines after repair: %q", lines)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	l := open(t, t.TempDir(), WithClock(clk.now))
	a := intent(t, l, Entry{Run: "A", Label: "scn-A-gpu"})
	closed := intent(t, l, Entry{Run: "A", Label: "scn-A-old"})
	must(t, l.Destroyed(closed, ""))
	clk.set(t0.Add(time.Hour))
	b1 := intent(t, l, Entry{Run: "B", Label: "scn-B-gpu"})
	b2 := intent(t, l, Entry{Run: "B", Label: "scn-B-standby"})
	clk.set(t0.Add(2 * time.Hour))

	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"all open", Filter{}, []string{a, b1, b2}},
		{"run", Filter{Run: "B"}, []string{b1, b2}},
		{"older than 90m", Filter{OlderThan: 90 * time.Minute}, []string{a}},
		{"older than exactly 1h", Filter{OlderThan: time.Hour}, []string{a, b1, b2}},
		{"glob", Filter{Pattern: "scn-B-*"}, []string{b1, b2}},
		{"glob suffix", Filter{Pattern: "*-standby"}, []string{b2}},
		{"combined", Filter{Run: "A", Pattern: "*-gpu", OlderThan: time.Minute}, []string{a}},
		{"nothing", Filter{Run: "C"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Leftovers(tc.f)
			must(t, err)
			var refs []string
			for _, r := range got {
				refs = append(refs, r.Ref)
			}
			if fmt.Sprint(refs) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", refs, tc.want)
			}
		})
	}
	if _, err := l.Leftovers(Filter{Pattern: "scn-["}); err == nil || !strings.Contains(err.Error(), "scn-[") {
		t.Fatalf("bad pattern: err = %v", err)
	}
}

func TestSyncedBeforeReturn(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	var synced []string // the file's last line at each fsync
	l.sync = func(f *os.File) error {
		lines := fileLines(t, dir)
		synced = append(synced, lines[len(lines)-1])
		return f.Sync()
	}
	ref := intent(t, l, Entry{Label: "one"})
	must(t, l.Created(ref, "1", nil))
	must(t, l.Destroyed(ref, ""))
	lines := fileLines(t, dir)
	if fmt.Sprint(synced) != fmt.Sprint(lines) {
		t.Fatalf("fsync saw %q, file is %q: every line must be synced as it is written", synced, lines)
	}

	l.sync = func(*os.File) error { return errors.New("disk on fire") }
	if ref, err := l.Intent(Entry{Label: "two"}); err == nil || ref != "" || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Intent with a failing fsync = %q, %v: must fail so nothing is created", ref, err)
	}
}

func TestMaskAndErrors(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, WithMask(func(s string) string { return strings.ReplaceAll(s, "hunter2", "***") }))
	ref := intent(t, l, Entry{Label: "x"})
	must(t, l.Created(ref, "1", map[string]string{"auth": "key=hunter2"}))
	must(t, l.Failed(ref, "401: bad key hunter2"))
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	must(t, err)
	if bytes.Contains(b, []byte("hunter2")) || !bytes.Contains(b, []byte("bad key ***")) {
		t.Fatalf("secret not masked in %s", b)
	}
	if err := l.Created(ref, "", nil); err == nil {
		t.Fatal("Created with an empty id must fail")
	}
	must(t, l.Close())
	if _, err := l.Intent(Entry{}); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Intent after Close: %v", err)
	}
	if _, err := Open(filepath.Join(dir, FileName)); err == nil {
		t.Fatal("Open on a file as state directory must fail")
	}
}
