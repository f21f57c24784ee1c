package snapshot

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/scnlabs/scn/internal/remote"
)

// verify runs md5sum on the instance over every regular file (and hard
// link) of the manifest, fed as NUL-separated names so any byte in a name
// survives, and records verified, mismatched and missing files in res.
func verify(ctx context.Context, ex remote.Execer, dir string, m *Manifest, res *RestoreResult) error {
	want := map[string]string{}
	var names bytes.Buffer
	for _, e := range m.Entries {
		if e.Type == TypeFile || e.Type == TypeHardlink {
			want[e.Path] = e.MD5
			names.WriteString("./" + e.Path + "\x00")
		}
	}
	res.Mismatched, res.Missing = []string{}, []string{}
	if len(want) == 0 {
		return nil
	}
	out, outW := io.Pipe()
	parsed := make(chan error, 1)
	go func() {
		parsed <- parseMD5Sums(out, want, res)
		out.CloseWithError(io.ErrClosedPipe) // let md5sum finish if parsing stopped early
	}()
	stderr := &tailBuffer{max: 4096}
	code, err := ex.Exec(ctx, "cd -- "+remote.Quote(dir)+" && xargs -0 md5sum --", &names, outW, stderr)
	outW.Close()
	perr := <-parsed
	switch {
	case err != nil:
		return fmt.Errorf("running md5sum: %w", err)
	case perr != nil:
		return perr
	// md5sum exits 1, and xargs 123, when some file could not be read:
	// those show up as missing.
	case code != 0 && code != 1 && code != 123:
		return &exitError{what: "md5sum", code: code, stderr: stderr.String()}
	}
	for p := range want {
		res.Missing = append(res.Missing, p)
	}
	sort.Strings(res.Missing)
	sort.Strings(res.Mismatched)
	return nil
}

// parseMD5Sums reads md5sum lines ("<md5>  ./name"; GNU md5sum prefixes a
// backslash and escapes \\, \n and \r in names that contain them), checks
// each against want and deletes it from want, leaving the missing ones.
func parseMD5Sums(r io.Reader, want map[string]string, res *RestoreResult) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		escaped := strings.HasPrefix(line, "\\")
		if escaped {
			line = line[1:]
		}
		if len(line) < 35 || (line[32:34] != "  " && line[32:34] != " *") {
			return fmt.Errorf("unexpected md5sum output line %q", sc.Text())
		}
		sum, name := line[:32], line[34:]
		if escaped {
			name = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r").Replace(name)
		}
		name = strings.TrimPrefix(name, "./")
		md5, ok := want[name]
		if !ok {
			return fmt.Errorf("md5sum reported a file it was not asked about: %q", name)
		}
		delete(want, name)
		if sum == md5 {
			res.Verified++
		} else {
			res.Mismatched = append(res.Mismatched, name)
		}
	}
	return sc.Err()
}
