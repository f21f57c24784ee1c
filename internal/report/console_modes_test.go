package report

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ptytest"
	"github.com/scnlabs/scn/internal/report/fixture"
)

// replayed runs a fixture through a console with a fake clock and returns
// what it wrote. The spinner's ticker is slowed to an hour so that only
// events draw: the output is deterministic.
func replayed(t *testing.T, j *journal.Journal, opts Options) string {
	t.Helper()
	var out bytes.Buffer
	c := NewConsole(&out, opts)
	clk := &fakeClock{}
	c.now, c.tick, c.width = clk.now, time.Hour, 100
	fixture.Replay(j, c, clk.set)
	return out.String()
}

func TestConsoleQuiet(t *testing.T) {
	out := replayed(t, fixture.Failing(), Options{Quiet: true})
	for _, want := range []string{"[ 8/11] verify  Verify every MD5 ... FAIL 0.9s", "valid = 1", "✗ destroy instance 29012456",
		"429 Too Many Requests", "warning: instance 29012456", "FAIL  realtime-sync · 4m36s", "1 cleanup action failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("quiet output lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"... ok", "waiting for SSH", "Journey", "created /workspace", "delete snapshot", "skipped"} {
		if strings.Contains(out, not) {
			t.Errorf("quiet output shows %q:\n%s", not, out)
		}
	}
	if pass := replayed(t, fixture.Passing(), Options{Quiet: true}); strings.Count(pass, "\n") != 1 || !strings.HasPrefix(pass, "PASS  realtime-sync") {
		t.Errorf("a quiet passing run prints one verdict line, got:\n%s", pass)
	}
}

func TestConsoleVerbose(t *testing.T) {
	out := replayed(t, fixture.Passing(), Options{Verbose: true})
	for _, want := range []string{`      with: {"gpu":"RTX_4090","order":"price"}`, `      outputs: {"offers":[{`, "\nVars\n  file_count  3\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("verbose output lacks %q", want)
		}
	}
	if plain := replayed(t, fixture.Passing(), Options{}); strings.Contains(plain, "with: ") || strings.Contains(plain, "outputs: ") {
		t.Error("step parameters and outputs belong to -v only")
	}
}

func TestConsoleColor(t *testing.T) {
	out := replayed(t, fixture.Failing(), Options{Color: true})
	for _, want := range []string{"\x1b[32mok\x1b[0m", "\x1b[31mFAIL\x1b[0m", "\x1b[1;31mFAIL\x1b[0m", "\x1b[33mwarning: \x1b[0m"} {
		if !strings.Contains(out, want) {
			t.Errorf("coloured output lacks %q", want)
		}
	}
	// Colour never changes the text.
	if stripped, plain := ansi.ReplaceAllString(out, ""), replayed(t, fixture.Failing(), Options{}); stripped != plain {
		t.Errorf("coloured output differs from plain once colours are removed:\n%s", lineDiff(plain, stripped))
	}
}

// screen interprets the few terminal controls the console uses (CR, LF,
// erase line, cursor up) and returns the lines left on the screen.
func screen(out string) []string {
	lines := []string{""}
	row, col := 0, 0
	put := func(r rune) {
		l := []rune(lines[row])
		for len(l) < col {
			l = append(l, ' ')
		}
		if col < len(l) {
			l[col] = r
		} else {
			l = append(l, r)
		}
		lines[row] = string(l)
		col++
	}
	for i := 0; i < len(out); {
		switch {
		case strings.HasPrefix(out[i:], "\x1b[2K"):
			lines[row] = ""
			i += 4
		case strings.HasPrefix(out[i:], "\x1b[1A"):
			row = max(row-1, 0)
			i += 4
		case out[i] == '\r':
			col = 0
			i++
		case out[i] == '\n':
			row++
			col = 0
			if row == len(lines) {
				lines = append(lines, "")
			}
			i++
		default:
			r, n := utf8.DecodeRuneInString(out[i:])
			put(r)
			i += n
		}
	}
	return lines
}

func TestConsoleInteractive(t *testing.T) {
	j := fixture.Failing()
	var out bytes.Buffer
	c := NewConsole(&out, Options{Interactive: true})
	clk := &fakeClock{}
	c.now, c.tick, c.width = clk.now, time.Hour, 60
	var during, moving []string
	spy := &spySink{Console: c, onWait: func() { during = screen(out.String()) },
		onTransfer: func() { moving = screen(out.String()) }}
	fixture.Replay(j, spy, clk.set)

	// Mid-transfer, the live area holds a bar with the rate.
	if bar := moving[len(moving)-1]; !strings.Contains(bar, "[██████░░░░░░░░░░░░░░░░░░] upload realtime-sync-2026") {
		t.Errorf("live area during the upload: %q", bar)
	}
	if len(during) == 0 {
		t.Fatal("no wait event seen")
	}
	// While waiting, the bottom of the screen is the live area: spinner and
	// step, then the wait with its elapsed time, cut to the width.
	last, prev := during[len(during)-1], during[len(during)-2]
	if !strings.HasPrefix(prev, "⠋ [ 2/11] gpu  Create the GPU instance") || !strings.Contains(last, "waiting for SSH on instance 29012345 (loading, 0s)") {
		t.Errorf("live area while waiting:\n%s\n%s", prev, last)
	}
	for _, l := range during[len(during)-2:] {
		if n := len([]rune(l)); n >= 60 {
			t.Errorf("live line of %d columns on a 60-column terminal would wrap: %q", n, l)
		}
	}
	final := strings.Join(screen(out.String()), "\n")
	for _, r := range spinner {
		if strings.Contains(final, r) {
			t.Errorf("spinner %q left on the screen after the run", r)
		}
	}
	if strings.Contains(final, "waiting for SSH") {
		t.Error("waits are shown in the live area only, not left on a terminal")
	}
	golden(t, "console_interactive_failing.golden", []byte(final))
}

// spySink lets the test look at the screen at the first wait and at the
// first transfer.
type spySink struct {
	*Console
	onWait, onTransfer func()
	seen, seenXfer     bool
}

func (s *spySink) Transfer(step, what string, done, total int64) {
	s.Console.Transfer(step, what, done, total)
	if !s.seenXfer {
		s.seenXfer = true
		s.onTransfer()
	}
}

func (s *spySink) Wait(step, what string, e time.Duration) {
	s.Console.Wait(step, what, e)
	if !s.seen {
		s.seen = true
		s.onWait()
	}
}

// TestSpinnerMoves: on a terminal the spinner is redrawn between events.
func TestSpinnerMoves(t *testing.T) {
	out := &syncBuffer{}
	c := NewConsole(out, Options{Interactive: true})
	c.tick = time.Millisecond
	j := fixture.Passing()
	c.RunStarted(j, len(j.Steps))
	c.StepStarted(&j.Steps[1])
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := out.String()
		if strings.Contains(s, spinner[1]) && strings.Contains(s, spinner[2]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the spinner did not move within 10s:\n%q", s)
		}
		time.Sleep(5 * time.Millisecond) // polling another goroutine's output, bounded above
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	final := screen(out.String())
	if got := strings.Join(final, "\n"); strings.ContainsAny(got, strings.Join(spinner, "")) {
		t.Errorf("Close left the live area on screen: %q", got)
	}
}

// syncBuffer is a buffer the spinner's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestConsoleConcurrent: a background standby logs and transfers while
// steps run; nothing is lost or interleaved mid-line (run with -race).
func TestConsoleConcurrent(t *testing.T) {
	for _, interactive := range []bool{false, true} {
		out := &syncBuffer{}
		c := NewConsole(out, Options{Interactive: interactive})
		c.tick = time.Millisecond
		j := fixture.Standby()
		c.RunStarted(j, len(j.Steps))
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					c.Log("background", fmt.Sprintf("sync %d.%d done", g, i))
					c.Transfer("background", fmt.Sprintf("sync %d", g), int64(i), -1)
					c.Wait("background", "waiting for rsync", time.Duration(i)*time.Second)
				}
			}()
		}
		for i := range j.Steps {
			c.StepStarted(&j.Steps[i])
			c.StepFinished(&j.Steps[i])
		}
		wg.Wait()
		c.RunFinished(j)
		got := strings.Join(screen(out.String()), "\n")
		for g := range 4 {
			for i := range 50 {
				if !strings.Contains(got, fmt.Sprintf("[background] sync %d.%d done\n", g, i)) {
					t.Fatalf("interactive=%v: log line %d.%d lost or broken", interactive, g, i)
				}
			}
		}
	}
}

func TestColorEnabledAndWidth(t *testing.T) {
	_, tty := ptytest.Open(t, 123)
	file, err := os.Create(t.TempDir() + "/out.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm-256color")
	if !ColorEnabled(tty) {
		t.Error("a terminal without NO_COLOR should get colours")
	}
	if ColorEnabled(file) {
		t.Error("a file should not get colours")
	}
	t.Setenv("NO_COLOR", "1")
	if ColorEnabled(tty) {
		t.Error("NO_COLOR=1 must turn colours off")
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	if ColorEnabled(tty) {
		t.Error("TERM=dumb must turn colours off")
	}
	if c := NewConsole(tty, Options{Interactive: true}); c.width != 123 {
		t.Errorf("console width on a 123-column terminal = %d", c.width)
	}
	if c := NewConsole(&bytes.Buffer{}, Options{Interactive: true, Width: TerminalWidth(tty)}); c.width != 123 {
		t.Errorf("console width through another writer, told the terminal's width = %d", c.width)
	}
}
