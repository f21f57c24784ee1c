package md5check

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/scnlabs/scn/internal/remote"
)

// What the machine can say about a path.
const (
	StateOK         = "ok"         // a regular file, hashed
	StateMissing    = "missing"    // nothing there (or a dangling link)
	StateNotFile    = "notfile"    // something that is not a regular file
	StateUnreadable = "unreadable" // a file md5sum or stat could not read
)

// Remote is what the machine reported for one path.
type Remote struct {
	State string // one of the State constants
	MD5   string // when State is StateOK
	Size  int64  // when State is StateOK
}

// Describe says what the machine has: "md5 <hex>, <n> bytes", or the state.
func (r Remote) Describe() string {
	if r.State == StateOK {
		return fmt.Sprintf("md5 %s, %d bytes", r.MD5, r.Size)
	}
	return r.State
}

// Inspect reports the MD5 and size of each path on the machine in one
// round trip: one md5sum and one stat per batch of files, not per file (a
// process costs milliseconds; a restored workspace can hold thousands of
// files). The script travels on stdin (`sh -s`), not on the command line,
// so the paths do not hit the kernel's limit on one argument. A missing
// file is a verdict, not an error; an error means the machine could not
// be asked or answered something that does not add up.
func Inspect(ctx context.Context, x remote.Execer, paths []string) ([]Remote, error) {
	var stdout, stderr bytes.Buffer
	code, err := x.Exec(ctx, "sh -s", strings.NewReader(inspectScript(paths)), &stdout, &stderr)
	if err != nil {
		return nil, fmt.Errorf("hashing %d files: %w", len(paths), err)
	}
	out, err := parseInspect(stdout.Bytes(), paths)
	if err != nil {
		return nil, fmt.Errorf("hashing %d files (sh exited %d, stderr %q): %w", len(paths), code, trimOutput(stderr.String()), err)
	}
	return out, nil
}

// Batches stay far below the kernel's limits on exec arguments.
const (
	batchFiles = 256
	batchBytes = 64 << 10
)

// inspectScript writes, per batch of paths:
//
//	<i> f|n|m        regular file / something else / nothing, by `[ ]`
//	--sums           md5sum of the regular files, in order
//	--sizes          stat -L -c %s of the same files, in order
//
// and "end" last, which proves the whole script ran: no exit status is
// trusted. Only regular files reach md5sum (a FIFO would hang it). Lines
// carry indexes, never names, except md5sum's, which parseInspect matches
// against the names it expects, escapes included.
func inspectScript(paths []string) string {
	var b strings.Builder
	// Without these tools every file would look unreadable: say why instead.
	b.WriteString("for t in md5sum stat; do command -v $t >/dev/null || { echo \"$t not found on the machine\" >&2; exit 127; }; done\n")
	for start := 0; start < len(paths); {
		b.WriteString("set --\n")
		n, size := 0, 0
		for i := start; i < len(paths) && n < batchFiles && (n == 0 || size < batchBytes); i++ {
			q := remote.Quote(paths[i])
			fmt.Fprintf(&b, "if [ -f %s ]; then set -- \"$@\" %s; echo '%d f'; elif [ -e %s ]; then echo '%d n'; else echo '%d m'; fi\n",
				q, q, i, q, i, i)
			n, size = n+1, size+len(q)
		}
		b.WriteString("echo --sums; [ $# -eq 0 ] || md5sum -- \"$@\" 2>/dev/null\n")
		b.WriteString("echo --sizes; [ $# -eq 0 ] || stat -L -c %s -- \"$@\" 2>/dev/null\n")
		start += n
	}
	b.WriteString("echo end\n")
	return b.String()
}

// parseInspect reads the script's answer; every path must be accounted for.
func parseInspect(data []byte, paths []string) ([]Remote, error) {
	if !bytes.HasSuffix(data, []byte("end\n")) {
		return nil, fmt.Errorf("the script stopped before the end")
	}
	out := make([]Remote, len(paths))
	seen := make([]bool, len(paths))
	lines := strings.Split(string(data), "\n")
	var batch []int // indexes of the current batch's regular files
	section := "states"
	sums, sizes := 0, 0
	finish := func() error {
		for _, i := range batch[sums:] {
			out[i].State = StateUnreadable // md5sum could not read it
		}
		if sizes != len(batch) {
			return fmt.Errorf("stat gave %d sizes for %d files (did files change during the check?)", sizes, len(batch))
		}
		batch, sums, sizes = nil, 0, 0
		return nil
	}
	for n, line := range lines {
		switch {
		case line == "end":
			if section != "sizes" && len(paths) > 0 || n != len(lines)-2 || lines[n+1] != "" {
				return nil, fmt.Errorf("unexpected end of the answer")
			}
			if err := finish(); err != nil {
				return nil, err
			}
			for i, ok := range seen {
				if !ok {
					return nil, fmt.Errorf("no answer for %s", paths[i])
				}
			}
			return out, nil
		case line == "--sums" && section == "states":
			section = "sums"
		case line == "--sizes" && section == "sums":
			section = "sizes"
		case section == "sizes" && !isSize(line):
			if err := finish(); err != nil {
				return nil, err
			}
			section = "states"
			fallthrough
		case section == "states":
			i, state, err := parseState(line, len(paths))
			if err != nil || seen[i] {
				return nil, fmt.Errorf("unexpected line %q", line)
			}
			seen[i], out[i].State = true, state
			if state == StateOK {
				batch = append(batch, i)
			}
		case section == "sums":
			md5, name, ok := parseSum(line)
			for ok && sums < len(batch) && !sameName(name, paths[batch[sums]]) {
				out[batch[sums]].State = StateUnreadable
				sums++
			}
			if !ok || sums == len(batch) {
				return nil, fmt.Errorf("unexpected md5sum line %q", line)
			}
			out[batch[sums]].MD5 = md5
			sums++
		case section == "sizes":
			if sizes == len(batch) {
				return nil, fmt.Errorf("more sizes than files")
			}
			out[batch[sizes]].Size, _ = strconv.ParseInt(line, 10, 64)
			sizes++
		default:
			return nil, fmt.Errorf("unexpected line %q", line)
		}
	}
	return nil, fmt.Errorf("the script stopped before the end")
}

// parseState reads "<i> f|n|m".
func parseState(line string, n int) (int, string, error) {
	idx, code, ok := strings.Cut(line, " ")
	i, err := strconv.Atoi(idx)
	if !ok || err != nil || i < 0 || i >= n {
		return 0, "", fmt.Errorf("bad state line")
	}
	switch code {
	case "f":
		return i, StateOK, nil
	case "n":
		return i, StateNotFile, nil
	case "m":
		return i, StateMissing, nil
	}
	return 0, "", fmt.Errorf("bad state line")
}

// parseSum reads md5sum's "<md5>  <name>" (" *" in binary mode); a line
// starting with a backslash has its name escaped.
func parseSum(line string) (md5, name string, ok bool) {
	escaped := strings.HasPrefix(line, "\\")
	line = strings.TrimPrefix(line, "\\")
	if len(line) < 34 || !IsMD5(line[:32]) || (line[32:34] != "  " && line[32:34] != " *") {
		return "", "", false
	}
	name = line[34:]
	if escaped {
		name = "\\" + name // keep the mark: sameName compares escaped forms
	}
	return strings.ToLower(line[:32]), name, true
}

// sameName compares md5sum's name with the path asked for. GNU md5sum
// escapes \ and newline (and, since 9.x, carriage return) and marks the
// line with a leading backslash.
func sameName(got, path string) bool {
	rest, escaped := strings.CutPrefix(got, "\\")
	if !escaped {
		return got == path
	}
	e := strings.NewReplacer("\\", "\\\\", "\n", "\\n").Replace(path)
	return rest == e || rest == strings.ReplaceAll(e, "\r", "\\r")
}

func isSize(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil && s != ""
}

// trimOutput keeps the end of a command's output for an error message.
func trimOutput(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 500 {
		return "…" + s[len(s)-500:]
	}
	return s
}

// IsMD5 reports whether s is 32 hex digits.
func IsMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
