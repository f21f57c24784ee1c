package vasttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// call sends one raw request, as the CLI would, and returns status,
// content type and body.
func call(t *testing.T, f *vasttest.Fake, method, path, body string) (int, string, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestWireFormat checks the JSON the fake speaks, field by field, without
// going through the vast client (which is lenient about what it reads).
func TestWireFormat(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: []vasttest.Offer{{ID: 11, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.4, Reliability: 0.99, DiskSpace: 50}}})
	f.StartSSHServers(t, nil)

	st, _, body := call(t, f, "POST", "/api/v0/bundles/", `{"gpu_name":{"in":["RTX 4090"]},"rented":{"eq":false},"order":[["dph_total","asc"]],"type":"on-demand","limit":5}`)
	var offers struct {
		Offers []map[string]any `json:"offers"`
	}
	if st != 200 || json.Unmarshal([]byte(body), &offers) != nil || len(offers.Offers) != 1 ||
		offers.Offers[0]["id"] != 11.0 || offers.Offers[0]["gpu_name"] != "RTX 4090" || offers.Offers[0]["dph_total"] != 0.4 {
		t.Fatalf("search: %d %s", st, body)
	}

	st, _, body = call(t, f, "PUT", "/api/v0/asks/11/", `{"client_id":"me","image":"img","disk":10,"label":"scn-a","runtype":"ssh_proxy","onstart":"mkdir -p /workspace","env":{}}`)
	if st != 200 || strings.TrimSpace(body) != `{"new_contract":7000001,"success":true}` {
		t.Fatalf("create: %d %s", st, body)
	}
	st, _, body = call(t, f, "PUT", "/api/v0/asks/11/", `{"client_id":"me","image":"img"}`)
	if st != 404 || !strings.Contains(body, `"error":"invalid_args"`) || !strings.Contains(body, "no_such_ask") || !strings.Contains(body, `"ask_id":11`) {
		t.Errorf("renting a rented offer: %d %s", st, body)
	}

	// First read: still being placed, every address null.
	_, _, body = call(t, f, "GET", "/api/v0/instances/7000001/", "")
	var show struct {
		Instances map[string]any `json:"instances"`
	}
	if json.Unmarshal([]byte(body), &show) != nil {
		t.Fatal(body)
	}
	for _, k := range []string{"actual_status", "status_msg", "ssh_host", "ssh_port", "public_ipaddr"} {
		if v, ok := show.Instances[k]; !ok || v != nil {
			t.Errorf("creating instance: %s = %v, want null", k, v)
		}
	}
	if show.Instances["intended_status"] != "running" || show.Instances["label"] != "scn-a" {
		t.Errorf("creating instance: %s", body)
	}
	call(t, f, "GET", "/api/v0/instances/7000001/", "") // loading
	_, _, body = call(t, f, "GET", "/api/v0/instances/7000001/", "")
	if json.Unmarshal([]byte(body), &show) != nil || show.Instances["actual_status"] != "running" ||
		show.Instances["ssh_host"] != "127.0.0.1" || show.Instances["ssh_port"] != float64(f.SSHServer("7000001").Port) {
		t.Errorf("running instance: %s", body)
	}

	st, ct, body := func() (int, string, string) {
		f.RateLimit(1)
		return call(t, f, "GET", "/api/v0/users/current/", "")
	}()
	if st != 429 || !strings.HasPrefix(ct, "text/plain") || body != "API requests too frequent" {
		t.Errorf("429: %d %q %q", st, ct, body)
	}

	if st, _, body = call(t, f, "DELETE", "/api/v0/instances/7000001/", "{}"); st != 200 || strings.TrimSpace(body) != `{"msg":"Instance destroyed successfully","success":true}` {
		t.Errorf("delete: %d %s", st, body)
	}
	if st, _, body = call(t, f, "GET", "/api/v0/instances/7000001/", ""); st != 200 || strings.TrimSpace(body) != `{"instances":null}` {
		t.Errorf("destroyed instance: %d %s", st, body)
	}
	if st, _, body = call(t, f, "DELETE", "/api/v0/instances/7000001/", "{}"); st != 404 || strings.TrimSpace(body) != `{"error":"not_found","msg":"Instance not found","success":false}` {
		t.Errorf("deleting a destroyed instance: %d %s", st, body)
	}
	// An id VAST never issued reads like a destroyed one: 200, null.
	if st, _, body = call(t, f, "GET", "/api/v0/instances/99/", ""); st != 200 || strings.TrimSpace(body) != `{"instances":null}` {
		t.Errorf("unknown instance: %d %s", st, body)
	}
	if st, _, body = call(t, f, "POST", "/api/v0/ssh/", `{}`); st != 400 || !strings.Contains(body, `"error":"no_ssh_key"`) {
		t.Errorf("adding no key: %d %s", st, body)
	}

	if st, _, body = call(t, f, "GET", "/api/v1/instances/?order_by=not-json", ""); st != 400 {
		t.Errorf("a bad order_by: %d %s", st, body)
	}

	// Options.ShowLag: a new instance reads null before it shows.
	f3 := vasttest.New(t, vasttest.Options{Offers: []vasttest.Offer{{ID: 13, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.4, DiskSpace: 50}}, ShowLag: 1})
	call(t, f3, "PUT", "/api/v0/asks/13/", `{"client_id":"me","image":"img","disk":10}`)
	if _, _, body = call(t, f3, "GET", "/api/v0/instances/7000001/", ""); strings.TrimSpace(body) != `{"instances":null}` {
		t.Errorf("first read of a new instance with ShowLag 1: %s", body)
	}
	if _, _, body = call(t, f3, "GET", "/api/v0/instances/7000001/", ""); !strings.Contains(body, `"id":7000001`) {
		t.Errorf("second read: %s", body)
	}
	call(t, f3, "DELETE", "/api/v0/instances/7000001/", "{}")

	// Options.StringOrder decides string filters: here case is ignored.
	f4 := vasttest.New(t, vasttest.Options{StringOrder: func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }})
	id := f4.Seed("scn-a", "running")
	if _, _, body = call(t, f4, "GET", `/api/v1/instances/?select_filters={"label":{"eq":"SCN-A"}}`, ""); !strings.Contains(body, `"id":`+id) {
		t.Errorf("a case-blind order did not find scn-a by SCN-A: %s", body)
	}
	call(t, f4, "DELETE", "/api/v0/instances/"+id+"/", "{}")

	// cancel_unavail: on by default for on-demand (create_instance.yaml).
	f2 := vasttest.New(t, vasttest.Options{Offers: []vasttest.Offer{{ID: 12, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.4, DiskSpace: 50, Unavailable: true}}})
	if st, _, body = call(t, f2, "PUT", "/api/v0/asks/12/", `{"client_id":"me","image":"img","disk":10}`); st != 410 || !strings.Contains(body, `"error":"no_such_ask"`) {
		t.Errorf("renting on a host that cannot start it: %d %s", st, body)
	}
	if st, _, body = call(t, f2, "PUT", "/api/v0/asks/12/", `{"client_id":"me","image":"img","disk":10,"cancel_unavail":false}`); st != 200 {
		t.Fatalf("renting without cancel_unavail: %d %s", st, body)
	}
	_, _, body = call(t, f2, "GET", "/api/v0/instances/7000001/", "")
	if !strings.Contains(body, `"intended_status":"stopped"`) {
		t.Errorf("an instance made without cancel_unavail on a busy host: %s", body)
	}
	call(t, f2, "DELETE", "/api/v0/instances/7000001/", "{}")

	req, _ := http.NewRequest("GET", f.URL+"/api/v0/users/current/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no key: %d", resp.StatusCode)
	}
	f.AssertAllDestroyed(t)
}
