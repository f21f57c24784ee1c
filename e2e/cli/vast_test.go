package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/ledger"
)

// TestCleanupOnAPaidTarget cleans up VAST instances through the vast
// target, against a fake VAST API speaking its documented JSON: the
// target is opened from the environment like a run, an answer lost by a
// dead run is found by label, an error carrying the API key is masked,
// and what failed stays in the ledger for the next cleanup.
func TestCleanupOnAPaidTarget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fake := vasttest.New(t, vasttest.Options{})
	e.extra = append(e.extra, "VAST_URL="+fake.URL, "VAST_API_KEY="+fake.APIKey())
	// Snapshots of this vast target go to a directory, so no B2 is needed.
	e.write("scn.yaml", "targets:\n  vast:\n    store: { kind: dir, path: vstore }\n")

	const run = "20260102-030405-beef"
	known := fake.Seed("scn-"+run+"-a", "running")      // scn heard back
	unheard := fake.Seed("scn-"+run+"-b", "running")    // rented, but the answer was lost
	stranger := fake.Seed("scn-other-run-b", "running") // another run's: must survive
	led, err := ledger.Open(e.state)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(step string) ledger.Entry {
		return ledger.Entry{Run: run, Step: step, Kind: "instance", Provider: "vast", Target: "vast", Label: "scn-" + run + "-" + step}
	}
	ref, err := led.Intent(entry("a"))
	if err == nil {
		err = led.Created(ref, known, nil)
	}
	if err == nil {
		_, err = led.Intent(entry("b"))
	}
	if err == nil {
		ref, err = led.Intent(entry("c"))
	}
	if err == nil {
		err = led.Created(ref, "7999999", nil) // destroyed by hand in the VAST console
	}
	led.Close()
	if err != nil {
		t.Fatal(err)
	}

	// VAST refuses the first delete, and its message quotes the key.
	fake.Inject(vasttest.Fault{Method: http.MethodDelete, Path: "/api/v0/instances/" + known + "/", Status: http.StatusForbidden,
		Body: `{"success": false, "error": "forbidden", "msg": "key ` + fake.APIKey() + ` may not delete this"}`})
	r := e.scn("cleanup")
	if r.code != 1 {
		t.Fatalf("cleanup with a refused delete: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"✗ instance " + known + ": NOT destroyed:",
		"instance " + unheard + ": found by label scn-" + run + "-b, destroyed",
		"instance 7999999: already gone",
		"1 resource still left (1 destroyed, 1 already gone)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cleanup output lacks %q:\n%s", want, r.stdout)
		}
	}
	ledgerText, _ := os.ReadFile(filepath.Join(e.state, ledger.FileName))
	if out := r.stdout + r.stderr + string(ledgerText); strings.Contains(out, fake.APIKey()) || !strings.Contains(r.stdout, "key *** may not") {
		t.Errorf("the API key is not masked:\n%s", out)
	}
	if open := e.open(); len(open) != 1 || open[0].ID != known {
		t.Fatalf("open entries %+v: want only the refused one", open)
	}

	r = e.scn("cleanup")
	if r.code != 0 || !strings.Contains(r.stdout, "instance "+known+": destroyed") {
		t.Fatalf("second cleanup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.assertLedgerClosed()
	if alive := fake.Alive(); len(alive) != 1 || alive[0] != stranger {
		t.Errorf("VAST instances alive after cleanup: %v; want only the other run's %s", alive, stranger)
	}
	// The other run's instance is not ours to destroy: end the fake's bill by hand.
	if err := destroyOnFake(fake, stranger); err != nil {
		t.Fatal(err)
	}
}

// destroyOnFake deletes an instance through the fake's API, as the VAST
// console would.
func destroyOnFake(f *vasttest.Fake, id string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, f.URL+"/api/v0/instances/"+id+"/", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+f.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
