// Package gcptest is an in-process Compute Engine for tests: an httptest
// server that speaks the REST JSON google.golang.org/api/compute/v1 sends and
// expects (instances insert/get/list/delete, zoneOperations get/wait, Google's
// error JSON), and the Cloud Billing Catalog's SKU listing, behind a real OAuth token endpoint that accepts the
// service-account JWT-bearer grant. Time is counted in polls, not seconds:
// operations go PENDING → RUNNING → DONE and instances PROVISIONING → STAGING
// → RUNNING one step per poll, so tests are fast and deterministic; an
// inserted VM is not found until its insert operation has started. Fault
// switches reproduce what real drills meet (an insert ending in
// QUOTA_EXCEEDED, a Spot preemption, a 5xx, a used-up rate quota, a
// forgotten operation), and the SSH hook lets a test hand each VM a real
// SSH server on 127.0.0.1.
package gcptest

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one request the fake received, as the client sent it.
type Call struct {
	Method string
	Path   string     // e.g. /compute/v1/projects/p/zones/z/instances
	Query  url.Values // requestId, filter, pageToken, maxResults...
	Body   []byte     // raw request body (the insert's Instance JSON)
	Authed bool       // carried a valid Bearer token
}

// Fault makes the next compute call fail with Google's error JSON.
type Fault struct {
	Status  int    // HTTP status, e.g. 503 or 403
	Reason  string // errors[0].reason, e.g. backendError, forbidden
	Message string // Google's message
	// AfterProcessing applies the call before failing it, like a response
	// lost on the way back: an insert creates the VM, then answers 503.
	AfterProcessing bool
}

// Server is the fake Compute Engine. Create it with New; set the hooks before
// the first request.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string
	// Project and Zone are the only project and zone the fake serves; any
	// other answers 404 like a project that does not exist.
	Project, Zone string
	// SSH, when set, is called as a VM reaches RUNNING and returns the
	// address of a real SSH server standing for the VM: host becomes the
	// VM's natIP, port is what SSHPort(name) reports (the API has no port
	// field). An error fails the boot: the VM ends TERMINATED. When nil, VMs
	// get a natIP from 192.0.2.0/24 (TEST-NET-1): never dial it.
	// It is called with the fake's lock held: it must not call the fake.
	SSH func(name string) (host string, port int, err error)
	// SSHRelease, when set, is called once a VM the SSH hook served is
	// deleted or preempted, so the test can stop its SSH server. It is
	// called with the fake's lock held.
	SSHRelease func(name string)
	// OnCall, when set, is told about every request after it was recorded
	// (outside the lock): tests use it to act at a precise moment.
	OnCall func(Call)
	// PageSize caps instances per list page (default: the request's
	// maxResults, 500 at most, like the real API).
	PageSize int
	// QuotaClock is the clock RateLimitFor's interval is measured by; nil
	// is time.Now. A test that must not depend on how fast the machine
	// runs advances its own clock by the waits its client asked for, so
	// that the quota refills after the wait requested, not the time spent.
	QuotaClock func() time.Time

	srv *httptest.Server

	mu           sync.Mutex
	calls        []Call
	keys         map[string]*rsa.PublicKey // client_email → key registered by WriteCredentials
	tokens       map[string]bool           // access tokens handed out
	vms          map[string]*vm            // by name, until deleted
	ops          map[string]*operation     // by name
	byRequest    map[string]*operation     // requestId → operation it created
	nextID       uint64
	faults       []Fault
	limitedUntil time.Time         // compute calls answer 403 rateLimitExceeded until then
	insertErr    *opError          // the next insert's operation ends with this error
	stall        bool              // the next insert's operation never finishes
	forget       bool              // the next operation answers 404 once created
	e2           *E2Prices         // the billing catalogue's E2 rates; DefaultE2Prices when nil
	billingOff   bool              // the Cloud Billing API answers 403 SERVICE_DISABLED
	catalogCalls []Call            // requests to the billing catalogue
	bills        map[string]*usage // by VM name, kept after the VM is deleted
}

// New starts a fake Compute Engine serving project "scn-test" in zone
// "us-central1-a"; it is closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		Project:   "scn-test",
		Zone:      "us-central1-a",
		keys:      map[string]*rsa.PublicKey{},
		tokens:    map[string]bool{},
		vms:       map[string]*vm{},
		ops:       map[string]*operation{},
		byRequest: map[string]*operation{},
		bills:     map[string]*usage{},
		nextID:    4_700_000_000_000_000_000,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Endpoint is the compute base path to give the client, in the form gcloud's
// CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE takes: http://host:port/compute/v1/.
func (s *Server) Endpoint() string { return s.URL + "/compute/v1/" }

// TokenURL is the OAuth token endpoint written as token_uri in credentials.
func (s *Server) TokenURL() string { return s.URL + "/token" }

// FailNext makes the next compute call (not the token endpoint) fail once.
// Faults queue up: calling it three times fails the next three calls.
func (s *Server) FailNext(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// RateLimitFor makes every compute call answer as Compute Engine does once
// the project's rate quota is used up, until d has passed on QuotaClock:
// 403 with reason rateLimitExceeded in domain usageLimits. Rate quotas are
// counted per minute and refill only at the start of the next interval, so
// a client must wait that out rather than retry at once
// (cloud.google.com/compute/api-quota: "If your project exceeds a rate
// quota, you receive a 403 error with the reason rateLimitExceeded. To
// resolve this error, wait a minute then try your request again";
// compute/docs/troubleshooting/troubleshoot-operation-limits shows the
// error body).
func (s *Server) RateLimitFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitedUntil = s.quotaNow().Add(d)
}

// quotaNow is the rate quotas' clock (QuotaClock).
func (s *Server) quotaNow() time.Time {
	if s.QuotaClock != nil {
		return s.QuotaClock()
	}
	return time.Now()
}

// FailNextInsert makes the next insert's operation end DONE with an error,
// as Compute Engine reports quota and capacity failures: code is e.g.
// QUOTA_EXCEEDED or ZONE_RESOURCE_POOL_EXHAUSTED. No VM is created.
func (s *Server) FailNextInsert(code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insertErr = &opError{Code: code, Message: message}
}

// StallNextInsert makes the next insert's operation stay RUNNING forever
// (the VM exists, PROVISIONING): the client can only give up.
func (s *Server) StallNextInsert() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = true
}

// ForgetNextOperation makes the next operation take effect at once and then
// answer 404, like an operation Compute Engine already garbage-collected.
func (s *Server) ForgetNextOperation() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget = true
}

// Calls returns every request received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Alive lists the names of VMs not deleted (a preempted VM with
// instanceTerminationAction STOP is still alive: its disk is billed).
func (s *Server) Alive() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name := range s.vms {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// InsertBody returns the decoded JSON body of the insert that created VM
// name, for tests to assert on the wire format (nil if unknown).
func (s *Server) InsertBody(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vms[name]
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(v.body, &m); err != nil {
		return nil
	}
	return m
}

// SSHPort is the port of the SSH server the SSH hook gave VM name (0 if
// none yet). Wire it to gcp.Config.SSHPortOverride.
func (s *Server) SSHPort(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.vms[name]; ok {
		return v.sshPort
	}
	return 0
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.URL.Path == "/token" {
		s.token(w, r, body)
		return
	}
	authed := s.authorized(r)
	c := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Authed: authed}
	catalog := strings.HasPrefix(r.URL.Path, "/v1/services/")
	s.mu.Lock()
	if catalog { // another API: kept apart, so Calls stays Compute Engine's
		s.catalogCalls = append(s.catalogCalls, c)
	} else {
		s.calls = append(s.calls, c)
	}
	s.mu.Unlock()
	if s.OnCall != nil {
		s.OnCall(c)
	}
	if !authed {
		writeError(w, http.StatusUnauthorized, "required",
			"Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if catalog {
		s.skus(w, r) // the billing catalogue: compute faults do not apply
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quotaNow().Before(s.limitedUntil) {
		writeError(w, http.StatusForbidden, "rateLimitExceeded", "Rate Limit Exceeded")
		return
	}
	var f *Fault
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	if f != nil && !f.AfterProcessing {
		writeError(w, f.Status, f.Reason, f.Message)
		return
	}
	rec := httptest.NewRecorder()
	s.route(rec, r, body)
	if f != nil {
		writeError(w, f.Status, f.Reason, f.Message)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok && s.tokens[tok]
}

// route dispatches /compute/v1/projects/{p}/zones/{z}/{collection}[/{name}[/wait]].
// The lock is held.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/compute/v1/projects/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 4 || parts[1] != "zones" {
		writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The requested URL %s was not found on this server.", r.URL.Path))
		return
	}
	project, zone, collection, tail := parts[0], parts[2], parts[3], parts[4:]
	if project != s.Project {
		writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s' was not found", project))
		return
	}
	if zone != s.Zone {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'zone': '%s'. Unknown zone.", zone))
		return
	}
	switch {
	case collection == "instances" && len(tail) == 0 && r.Method == http.MethodPost:
		s.insert(w, r, body)
	case collection == "instances" && len(tail) == 0 && r.Method == http.MethodGet:
		s.list(w, r)
	case collection == "instances" && len(tail) == 1 && r.Method == http.MethodGet:
		s.getVM(w, tail[0])
	case collection == "instances" && len(tail) == 1 && r.Method == http.MethodDelete:
		s.deleteVM(w, r, tail[0])
	case collection == "operations" && len(tail) == 1 && r.Method == http.MethodGet,
		collection == "operations" && len(tail) == 2 && tail[1] == "wait" && r.Method == http.MethodPost:
		s.pollOp(w, tail[0])
	default:
		writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The requested URL %s was not found on this server.", r.URL.Path))
	}
}

// writeError answers with Google's error JSON, as googleapi.CheckResponse decodes it.
func writeError(w http.ResponseWriter, status int, reason, message string) {
	type item struct {
		Message string `json:"message"`
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
	}
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Errors  []item `json:"errors"`
		} `json:"error"`
	}
	e.Error.Code = status
	e.Error.Message = message
	domain := "global"
	switch reason {
	case "rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded":
		domain = "usageLimits" // as in the rate-limit error Google documents
	}
	e.Error.Errors = []item{{Message: message, Domain: domain, Reason: reason}}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
