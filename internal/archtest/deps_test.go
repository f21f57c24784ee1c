package archtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const module = "github.com/scnlabs/scn"

// cloudSDKs are the import paths (and everything under them) of the cloud
// SDKs: aws-sdk-go-v2 for S3/B2, Google's API client for Compute Engine,
// and what those pull in (gRPC, cloud.google.com/go).
var cloudSDKs = []string{"github.com/aws", "google.golang.org/api", "google.golang.org/grpc", "cloud.google.com"}

func isCloudSDK(path string) bool {
	for _, p := range cloudSDKs {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// The language — the runner, the schema generator and every action — sees
// clouds only through internal/target's interfaces, so it builds fast and a
// new action or exporter cannot drag an SDK into it unnoticed.
func TestLanguageLinksNoCloudSDK(t *testing.T) {
	assertNoCloudSDK(t, module+"/runner", module+"/schema", module+"/actions/...")
}

// internal/target is the value actions hold; if it linked an SDK, every
// action would.
func TestTargetLinksNoCloudSDK(t *testing.T) {
	assertNoCloudSDK(t, module+"/internal/target")
}

// The assembly is where the SDKs are linked: this proves the prefixes above
// name real packages (a renamed SDK module would otherwise make the tests
// above pass vacuously) and that the explanation finds the way in.
func TestAssemblyLinksEveryCloudSDK(t *testing.T) {
	g := goList(t, module+"/internal/assembly")
	for _, prefix := range cloudSDKs {
		found := false
		for path := range g.pkgs {
			found = found || path == prefix || strings.HasPrefix(path, prefix+"/")
		}
		if !found {
			t.Errorf("internal/assembly links no package under %s: is the prefix still the SDK's import path?", prefix)
		}
	}
	chains := g.sdkChains()
	if len(chains) == 0 {
		t.Fatal("no import chain from internal/assembly to a cloud SDK found")
	}
	for _, c := range chains {
		if c[0] != module+"/internal/assembly" || !isCloudSDK(c[len(c)-1]) || isCloudSDK(c[len(c)-2]) {
			t.Errorf("chain %v: want internal/assembly → … → the first SDK package", c)
		}
		for i := 1; i < len(c); i++ {
			if !g.imports(c[i-1], c[i]) {
				t.Errorf("chain %v: %s does not import %s", c, c[i-1], c[i])
			}
		}
	}
}

// assertNoCloudSDK fails, naming how each SDK comes in, when the packages
// matching patterns link any cloud SDK package.
func assertNoCloudSDK(t *testing.T, patterns ...string) {
	t.Helper()
	g := goList(t, patterns...)
	if len(g.roots) == 0 {
		t.Fatalf("go list %s matched no package", strings.Join(patterns, " "))
	}
	n := 0
	for path := range g.pkgs {
		if isCloudSDK(path) {
			n++
		}
	}
	if n == 0 {
		return
	}
	const show = 8
	chains := g.sdkChains()
	var b strings.Builder
	fmt.Fprintf(&b, "%s link %d cloud-SDK packages. Cloud SDKs belong behind internal/assembly (imported by cmd/ and tests);\n"+
		"the language reaches clouds through internal/target's interfaces. Where the SDKs come in:\n",
		strings.Join(short(patterns), ", "), n)
	for i, c := range chains {
		if i == show {
			fmt.Fprintf(&b, "  … and %d more\n", len(chains)-show)
			break
		}
		fmt.Fprintf(&b, "  %s\n", strings.Join(short(c), " → "))
	}
	t.Error(strings.TrimSuffix(b.String(), "\n"))
}

// short trims the module path off import paths, for messages.
func short(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = strings.TrimPrefix(p, module+"/")
	}
	return out
}

// graph is the import graph `go list -deps` printed.
type graph struct {
	pkgs  map[string]*pkg
	roots []string // the packages the patterns matched, in go list's order
}

type pkg struct {
	ImportPath string
	Imports    []string
	DepOnly    bool
	Dir        string
	GoFiles    []string
	Module     *struct {
		Main  bool
		GoMod string
	}
	Error *struct{ Err string }
}

func (g *graph) imports(from, to string) bool {
	p := g.pkgs[from]
	if p == nil {
		return false
	}
	for _, imp := range p.Imports {
		if imp == to {
			return true
		}
	}
	return false
}

// sdkChains returns, for each cloud-SDK package imported by a package that
// is not itself part of an SDK, one shortest import chain from a root to
// it: the lines a reader follows to cut the dependency.
func (g *graph) sdkChains() [][]string {
	parent := map[string]string{}
	seen := map[string]bool{}
	queue := append([]string(nil), g.roots...)
	for _, r := range g.roots {
		seen[r] = true
	}
	var entries []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		p := g.pkgs[cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if seen[imp] {
				continue
			}
			seen[imp], parent[imp] = true, cur
			if isCloudSDK(imp) {
				entries = append(entries, imp) // do not walk inside the SDK
				continue
			}
			queue = append(queue, imp)
		}
	}
	var chains [][]string
	for _, e := range entries {
		c := []string{e}
		for at := e; parent[at] != ""; at = parent[at] {
			c = append([]string{parent[at]}, c...)
		}
		chains = append(chains, c)
	}
	return chains
}

// goList runs `go list -deps -json` on patterns. The go command reads the
// module's sources, which go test does not see: the test opens the same
// files (the listed packages of this module, their directories and go.mod)
// so that editing an import invalidates go test's cached result.
func goList(t *testing.T, patterns ...string) *graph {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH: this test asks it for the import graph")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"list", "-deps", "-json=ImportPath,Imports,DepOnly,Dir,GoFiles,Module,Error"}, patterns...)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	g := &graph{pkgs: map[string]*pkg{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := &pkg{}
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list -json: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		g.pkgs[p.ImportPath] = p
		if !p.DepOnly {
			g.roots = append(g.roots, p.ImportPath)
		}
		if p.Module != nil && p.Module.Main {
			touch(t, p.Module.GoMod)
			touch(t, p.Dir)
			for _, f := range p.GoFiles {
				touch(t, filepath.Join(p.Dir, f))
			}
		}
	}
	return g
}

// touch opens path (a directory is read, so a new file counts too).
func touch(t *testing.T, path string) {
	t.Helper()
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if _, err := os.ReadDir(path); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// telemetrySDKs are the OpenTelemetry SDK and its exporters: only cmd/scn
// (through internal/telemetry) links them.
var telemetrySDKs = []string{"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/exporters"}

// The language and the session emit events; turning them into spans is
// the CLI's business (docs/decisions.md, "Notifications and traces").
func TestLanguageLinksNoTelemetrySDK(t *testing.T) {
	g := goList(t, module+"/runner", module+"/schema", module+"/actions/...", module+"/internal/session")
	for path := range g.pkgs {
		for _, p := range telemetrySDKs {
			if path == p || strings.HasPrefix(path, p+"/") {
				t.Errorf("the language or the session links %s: traces belong to internal/telemetry, imported by cmd/scn", path)
			}
		}
	}
	// The prefixes name real packages: internal/telemetry links them.
	found := map[string]bool{}
	for path := range goList(t, module+"/internal/telemetry").pkgs {
		for _, p := range telemetrySDKs {
			found[p] = found[p] || strings.HasPrefix(path, p+"/") || path == p
		}
	}
	for _, p := range telemetrySDKs {
		if !found[p] {
			t.Errorf("internal/telemetry links nothing under %s: is the prefix still the SDK's import path?", p)
		}
	}
}
