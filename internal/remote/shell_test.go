package remote

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// A command that exits without reading its stdin ends the session, as
// over SSH, even though the caller's stdin never ends (an agent's control
// channel stays open until scn closes it); one that reads it gets all of
// it.
func TestShellEndsWhenTheCommandExits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // bounds a hang
	defer cancel()
	never, w := io.Pipe()
	defer w.Close()
	code, err := Shell{}.Exec(ctx, "exit 3", never, io.Discard, io.Discard)
	if err != nil || code != 3 {
		t.Fatalf("Exec = %d, %v; want exit 3 once the command exits", code, err)
	}

	in := strings.Repeat("all of it\n", 100000) // more than a pipe holds
	var out bytes.Buffer
	code, err = Shell{}.Exec(ctx, "cat", strings.NewReader(in), &out, io.Discard)
	if err != nil || code != 0 || out.String() != in {
		t.Fatalf("cat: %d, %v, %d of %d bytes back", code, err, out.Len(), len(in))
	}
}
