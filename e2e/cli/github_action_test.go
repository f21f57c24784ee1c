package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub is the part of the GitHub REST API the action's review script
// uses: list, create and update a pull request's issue comments
// (docs.github.com/en/rest/issues/comments: GET and POST
// /repos/{owner}/{repo}/issues/{n}/comments answer a list and 201 with
// the comment; PATCH /repos/{owner}/{repo}/issues/comments/{id} answers
// the comment). Every call must carry the token as a bearer token.
type fakeGitHub struct {
	t        *testing.T
	token    string
	mu       sync.Mutex
	comments map[int]map[string]any // id → {id, body}
	calls    []string               // "METHOD path"
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	body := func() string {
		var in struct{ Body string }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &in); err != nil || in.Body == "" {
			f.t.Errorf("%s %s: body %q is not {\"body\": ...}", r.Method, r.URL.Path, b)
		}
		return in.Body
	}
	w.Header().Set("Content-Type", "application/json")
	const list = "/repos/acme/drills/issues/7/comments"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == list:
		out := []map[string]any{{"id": 1, "body": "LGTM"}} // someone else's comment
		for _, c := range f.comments {
			out = append(out, c)
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPost && r.URL.Path == list:
		id := 100 + len(f.comments)
		f.comments[id] = map[string]any{"id": id, "body": body()}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(f.comments[id])
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme/drills/issues/comments/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/repos/acme/drills/issues/comments/"))
		if f.comments[id] == nil {
			http.NotFound(w, r)
			return
		}
		f.comments[id]["body"] = body()
		json.NewEncoder(w).Encode(f.comments[id])
	default:
		http.NotFound(w, r)
	}
}

// runScript runs one of the action's scripts as the composite action
// does: bash, from the repository's checkout, with GitHub's variables.
func runScript(t *testing.T, e *env, script string, vars ...string) (int, string, string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "scripts", "github", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", path)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), append([]string{"SCN=" + e.bin, "SCN_HOME=" + e.state, "NO_COLOR=1"}, vars...)...)
	cmd.Env = append(cmd.Env, e.race...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ex, ok := err.(*exec.ExitError); ok {
		code = ex.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// The review script validates (annotations), plans as Markdown into the
// job summary and one pull-request comment, updated on the next push; a
// mistake is annotated and the comment says so.
func TestGitHubActionReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gh := &fakeGitHub{t: t, token: "ghs_fake-token", comments: map[int]map[string]any{}}
	api := httptest.NewServer(gh)
	defer api.Close()
	os.MkdirAll(filepath.Join(e.dir, "scenarios"), 0o755)
	e.write("scenarios/a.yaml", "name: a\nsteps:\n  - action: log\n    with: { message: hi }\n    expect: [ \"true\" ]\n")
	e.write("scenarios/b.yaml", "name: b\nsteps:\n  - assert: 1 + 1 == 2\n")
	event := e.write("event.json", `{"pull_request": {"number": 7}}`)
	summary := filepath.Join(e.dir, "summary.md")
	vars := []string{"GITHUB_API_URL=" + api.URL, "GITHUB_REPOSITORY=acme/drills", "GITHUB_EVENT_PATH=" + event,
		"GITHUB_TOKEN=ghs_fake-token", "GITHUB_STEP_SUMMARY=" + summary, "SCN_SCENARIOS=scenarios/*.yaml"}

	code, stdout, stderr := runScript(t, e, "review.sh", vars...)
	if code != 0 {
		t.Fatalf("review.sh: exit %d\n%s%s", code, stdout, stderr)
	}
	if len(gh.comments) != 1 {
		t.Fatalf("%d comments after the first push, want 1 (calls %v)", len(gh.comments), gh.calls)
	}
	var first string
	for _, c := range gh.comments {
		first = c["body"].(string)
	}
	for _, want := range []string{"<!-- scn-plan -->", "### Plan: a (`scenarios/a.yaml`)", "### Plan: b", "**What this drill proves**", "assert: `1 + 1 == 2`"} {
		if !strings.Contains(first, want) {
			t.Errorf("the comment lacks %q:\n%s", want, first)
		}
	}
	if b, _ := os.ReadFile(summary); !strings.Contains(string(b), "### Plan: a") || strings.Contains(string(b), "<!-- scn-plan -->") {
		t.Errorf("job summary:\n%s", b)
	}

	// The next push updates that comment rather than adding one; a mistake
	// is annotated on the diff, and the comment says so.
	e.write("scenarios/b.yaml", "name: b\nsteps:\n  - action: files.craete\n")
	code, stdout, _ = runScript(t, e, "review.sh", vars...)
	if code != 2 || !strings.Contains(stdout, "::error file=scenarios/b.yaml,line=3,col=13,title=scn validate::unknown action") {
		t.Errorf("a mistake: exit %d, want 2 and an annotation\n%s", code, stdout)
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if len(gh.comments) != 1 || !strings.Contains(gh.calls[len(gh.calls)-1], "PATCH /repos/acme/drills/issues/comments/100") {
		t.Fatalf("second push: %d comments, calls %v", len(gh.comments), gh.calls)
	}
	if body := gh.comments[100]["body"].(string); !strings.Contains(body, "the drills have mistakes") || strings.Contains(body, "### Plan") {
		t.Errorf("the updated comment:\n%s", body)
	}
	if strings.Contains(stdout+stderr, "ghs_fake-token") {
		t.Error("the token reached the output")
	}
}

// The drill script runs the drills with JUnit and HTML reports and every
// run's directory under the results directory it names as an output.
func TestGitHubActionDrill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("pass.yaml", "name: pass\nsteps:\n  - action: log\n    with: { message: hi }\n")
	e.write("fail.yaml", "name: fail\nsteps:\n  - assert: 1 == 2\n")
	output, summary := filepath.Join(e.dir, "output"), filepath.Join(e.dir, "summary.md")
	code, stdout, stderr := runScript(t, e, "drill.sh", "SCN_SCENARIOS=pass.yaml fail.yaml", "SCN_RESULTS=out",
		"GITHUB_OUTPUT="+output, "GITHUB_STEP_SUMMARY="+summary, "SCN_ARGS=--parallel 2")
	if code != 1 {
		t.Fatalf("drill.sh with a failing drill: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"out/junit.xml", "out/report.html", "out/report-pass.html", "out/report-fail.html"} {
		if !fileExists(filepath.Join(e.dir, f)) {
			t.Errorf("%s missing", f)
		}
	}
	journals, _ := filepath.Glob(filepath.Join(e.dir, "out", "runs", "*", "journal.json"))
	if len(journals) != 2 {
		t.Errorf("%d run directories with a journal under out/runs, want 2", len(journals))
	}
	if b, _ := os.ReadFile(output); string(b) != "results=out\n" {
		t.Errorf("GITHUB_OUTPUT: %q", b)
	}
	if b, _ := os.ReadFile(summary); !strings.Contains(string(b), "1 of 2 drills failed") {
		t.Errorf("job summary: %s", b)
	}
	if code, stdout, _ := runScript(t, e, "drill.sh", "SCN_SCENARIOS=nothing-*.yaml"); code != 2 || !strings.Contains(stdout, "::error title=scn::no scenario file matches nothing-*.yaml") {
		t.Errorf("no file: exit %d\n%s", code, stdout)
	}
}
