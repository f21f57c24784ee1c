package standby

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// DefaultExclude is what a sync leaves out unless told otherwise: caches
// that are rebuilt on the new GPU anyway and temporary files that are
// about to change.
var DefaultExclude = []string{".cache", "__pycache__", "*.tmp"}

// Entry is what a listing says about one path of a workspace. Only
// regular files, directories and symbolic links are kept: sockets, FIFOs
// and devices cannot be copied meaningfully to another machine.
type Entry struct {
	Type  byte   // 'f' regular file, 'd' directory, 'l' symbolic link
	Size  int64  // bytes (files); find's %s
	MTime int64  // modification time, nanoseconds since the epoch
	Mode  uint32 // permission bits
	Link  string // target of a symbolic link
}

// Listing maps paths relative to the workspace ("a/b.txt") to their entry.
type Listing map[string]Entry

// snapshot is one listing of a machine and the machine's own clock when
// it began, so that "changed since" questions are asked in the machine's
// time, never scn's (the two clocks may disagree).
type snapshot struct {
	Clock   time.Time // machine clock when the listing started
	Entries Listing
	Size    int64 // bytes of the listing's text, which crossed the machine's link
}

// files counts the regular files of l and their bytes.
func (l Listing) files() (n int, bytes int64) {
	for _, e := range l {
		if e.Type == 'f' {
			n++
			bytes += e.Size
		}
	}
	return n, bytes
}

// listFormat is one find record: six NUL-terminated fields. NUL is the one
// byte a file name cannot contain, so any name — spaces, newlines,
// backslashes, leading dashes — comes back intact; %P is relative to the
// starting point.
const listFormat = `%y\0%s\0%T@\0%m\0%l\0%P\0`

// listCommand lists dir on a machine. It ASSUMES GNU find and GNU date
// (coreutils), as found on the Debian/Ubuntu images of VAST.ai and Compute
// Engine and on the local sandboxes: -printf, -ignore_readdir_race,
// -newermt @<epoch.ns> and date +%N are GNU extensions.
//
// The answer is the machine's clock, the records, then "end": a listing
// missing its end is incomplete (find failed half-way, e.g. on an
// unreadable folder) and must not be used, since paths absent from it
// would be deleted on the standby. -ignore_readdir_race keeps a file
// deleted while find runs (a busy training job) from failing the listing;
// the next cycle sees it gone. With since, only entries modified after
// that machine time are listed.
func listCommand(dir string, exclude []string, since time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, `cd -- %s && printf '%%s\0' "$(date +%%s.%%N)" && find . -ignore_readdir_race -mindepth 1`, remote.Quote(dir))
	if len(exclude) > 0 {
		b.WriteString(` \(`)
		for i, pat := range exclude {
			if i > 0 {
				b.WriteString(" -o")
			}
			if strings.Contains(pat, "/") {
				fmt.Fprintf(&b, " -path %s", remote.Quote("./"+strings.TrimPrefix(strings.TrimPrefix(pat, "./"), "/")))
			} else {
				fmt.Fprintf(&b, " -name %s", remote.Quote(pat))
			}
		}
		b.WriteString(` \) -prune -o`)
	}
	if !since.IsZero() {
		fmt.Fprintf(&b, " -newermt @%d.%09d", since.Unix(), since.Nanosecond())
	}
	fmt.Fprintf(&b, ` -printf '%s' && printf 'end\0'`, listFormat)
	return b.String()
}

// CheckExclude rejects patterns find could not take as one name or path.
func CheckExclude(patterns []string) error {
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" || strings.ContainsRune(p, 0) || strings.Trim(p, "./") == "" {
			return fmt.Errorf("exclude pattern %q matches nothing useful (empty, NUL or only dots and slashes)", p)
		}
	}
	return nil
}

// parseListing reads listCommand's answer.
func parseListing(data []byte) (snapshot, error) {
	fields := bytes.Split(data, []byte{0})
	// clock, 6 per record, "end", and the empty tail after the last NUL.
	n := len(fields)
	if n < 3 || len(fields[n-1]) != 0 || string(fields[n-2]) != "end" || (n-3)%6 != 0 {
		return snapshot{}, fmt.Errorf("the listing is incomplete (find stopped before the end)")
	}
	clock, err := parseTime(string(fields[0]))
	if err != nil {
		return snapshot{}, fmt.Errorf("the machine's clock %q: %w", fields[0], err)
	}
	out := snapshot{Clock: clock, Entries: Listing{}}
	for i := 1; i+6 <= n-2; i += 6 {
		e, name, err := parseRecord(fields[i : i+6])
		if err != nil {
			return snapshot{}, err
		}
		if e.Type == 'f' || e.Type == 'd' || e.Type == 'l' {
			out.Entries[name] = e
		}
	}
	return out, nil
}

func parseRecord(f [][]byte) (Entry, string, error) {
	name := string(f[5])
	if len(f[0]) != 1 || !safeRel(name) {
		return Entry{}, "", fmt.Errorf("unexpected listing record for %q (type %q)", name, f[0])
	}
	size, err1 := strconv.ParseInt(string(f[1]), 10, 64)
	mt, err2 := parseTime(string(f[2]))
	mode, err3 := strconv.ParseUint(string(f[3]), 8, 32)
	if err := firstErr(err1, err2, err3); err != nil {
		return Entry{}, "", fmt.Errorf("listing record for %q: %w", name, err)
	}
	return Entry{Type: f[0][0], Size: size, MTime: mt.UnixNano(), Mode: uint32(mode), Link: string(f[4])}, name, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parseTime reads "<seconds>.<fraction>" (find's %T@, date +%s.%N) to the
// nanosecond, without the rounding a float64 would add.
func parseTime(s string) (time.Time, error) {
	secs, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a time: %q", s)
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a time: %q", s)
	}
	return time.Unix(sec, ns), nil
}

// safeRel reports whether p is a clean relative path inside the workspace:
// not absolute, no "..", not the workspace itself. Every path scn sends to
// tar or rm passes this, so nothing outside the workspace is ever touched.
func safeRel(p string) bool {
	if p == "" || p == "." || path.IsAbs(p) || path.Clean(p) != p {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}

// plan is what one sync must do to make the standby equal the GPU.
type plan struct {
	send   []string // to copy from the GPU, sorted (parents before children)
	remove []string // to delete on the standby first, none inside another
}

// diff compares the GPU's listing (src) with the standby's (dst).
// Regular files are sent when their size, mtime or permissions differ
// (tar carries all three, so once copied they compare equal); links when
// their target differs; directories only when new or their permissions
// differ (their mtime changes whenever a file inside does). A path whose
// type changed is removed first, then sent.
func diff(src, dst Listing) plan {
	var p plan
	for name, s := range src {
		d, ok := dst[name]
		switch {
		case !ok:
			p.send = append(p.send, name)
		case d.Type != s.Type:
			p.remove = append(p.remove, name)
			p.send = append(p.send, name)
		case s.Type == 'f' && (s.Size != d.Size || s.MTime != d.MTime || s.Mode != d.Mode),
			s.Type == 'l' && s.Link != d.Link,
			s.Type == 'd' && s.Mode != d.Mode:
			p.send = append(p.send, name)
		}
	}
	for name := range dst {
		if _, ok := src[name]; !ok {
			p.remove = append(p.remove, name)
		}
	}
	sort.Strings(p.send)
	p.remove = outermost(p.remove)
	return p
}

// outermost drops the paths that lie inside another path of the list:
// removing the folder removes them.
func outermost(paths []string) []string {
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	var out []string
	for _, p := range paths {
		inside := false
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if set[d] {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// nulList is paths as "./p\0" records for `tar -T -` and `xargs -0`: the
// "./" keeps a name starting with a dash from being read as an option.
func nulList(paths []string) *bytes.Reader {
	var b bytes.Buffer
	for _, p := range paths {
		b.WriteString("./")
		b.WriteString(p)
		b.WriteByte(0)
	}
	return bytes.NewReader(b.Bytes())
}
