package vasttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// serve records the call, checks the key, applies faults and routes.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	idx := len(f.calls)
	f.calls = append(f.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body), At: time.Now()})
	f.mu.Unlock()
	status := f.answer(w, r, body)
	f.mu.Lock()
	f.calls[idx].Status = status
	f.mu.Unlock()
}

func (f *Fake) answer(w http.ResponseWriter, r *http.Request, body []byte) int {
	if r.Header.Get("Authorization") != "Bearer "+f.opts.APIKey {
		// vast-ai/docs api-reference/openapi/yaml/show_instance.yaml, 401 example.
		return writeJSON(w, http.StatusUnauthorized, errBody("auth_error", "Invalid user key"))
	}
	fault := f.takeFault(r.Method, r.URL.Path)
	if fault != nil && fault.Before != nil {
		fault.Before()
	}
	if fault != nil && fault.Status == 0 {
		return f.route(w, r, body)
	}
	if fault != nil && fault.After {
		f.route(httptest.NewRecorder(), r, body) // act, then lose the answer
	}
	if fault != nil {
		ct := "text/plain; charset=utf-8"
		if strings.HasPrefix(fault.Body, "{") {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(fault.Status)
		_, _ = io.WriteString(w, fault.Body)
		return fault.Status
	}
	return f.route(w, r, body)
}

func (f *Fake) takeFault(method, path string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.faults {
		if ft.Times > 0 && (ft.Method == "" || ft.Method == method) && strings.HasPrefix(path, ft.Path) {
			ft.Times--
			return ft
		}
	}
	return nil
}

// route dispatches on VAST's paths; ids are the numbers between slashes.
func (f *Fake) route(w http.ResponseWriter, r *http.Request, body []byte) int {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	m := r.Method
	switch {
	case m == http.MethodPost && match(parts, "api", "v0", "bundles"):
		return f.searchOffers(w, body)
	case m == http.MethodPut && match(parts, "api", "v0", "asks", "#"):
		return f.createInstance(w, num(parts[3]), body)
	case m == http.MethodGet && match(parts, "api", "v0", "instances", "#"):
		return f.showInstance(w, num(parts[3]))
	case m == http.MethodDelete && match(parts, "api", "v0", "instances", "#"):
		return f.destroyInstance(w, num(parts[3]))
	case m == http.MethodGet && match(parts, "api", "v1", "instances"):
		return f.listInstances(w, r)
	case m == http.MethodGet && match(parts, "api", "v0", "ssh"):
		return f.listKeys(w)
	case m == http.MethodPost && match(parts, "api", "v0", "ssh"):
		return f.addKey(w, body)
	case m == http.MethodGet && match(parts, "api", "v0", "users", "current"):
		return writeJSON(w, http.StatusOK, map[string]any{
			"id": 4242, "username": "drill", "email": "drill@example.com",
			"balance": f.opts.Balance, "credit": f.opts.Credit, "ssh_key": "", "sid": "fake-sid",
		})
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "<h1>Not Found</h1>")
	return http.StatusNotFound
}

// match compares path parts with a pattern where "#" is a positive integer.
func match(parts []string, pattern ...string) bool {
	if len(parts) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p == "#" {
			if num(parts[i]) <= 0 {
				return false
			}
		} else if parts[i] != p {
			return false
		}
	}
	return true
}

func num(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func errBody(code, msg string) map[string]any {
	return map[string]any{"success": false, "error": code, "msg": msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

func (f *Fake) createInstance(w http.ResponseWriter, offerID int64, body []byte) int {
	var req struct {
		ClientID string            `json:"client_id"`
		Image    string            `json:"image"`
		Disk     *float64          `json:"disk"`
		Label    string            `json:"label"`
		Runtype  string            `json:"runtype"`
		OnStart  string            `json:"onstart"`
		Env      map[string]string `json:"env"`
		// CancelUnavail defaults to true for on-demand rents, the only
		// kind the fake makes (create_instance.yaml: "Defaults to true
		// for on-demand with target_state='running'").
		CancelUnavail *bool `json:"cancel_unavail"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "Invalid JSON body: "+err.Error()))
	}
	switch {
	case req.ClientID != "me":
		return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "client_id must be 'me'."))
	case req.Image == "":
		return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "image is required."))
	case req.Disk != nil && *req.Disk < 8:
		return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "disk must be at least 8 GB."))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	of := f.offers[offerID]
	if of == nil || of.rented || of.taken {
		// vast-ai/docs api-reference/openapi/yaml/create_instance.yaml, 404:
		// the code is invalid_args, "no_such_ask" is in the message.
		b := errBody("invalid_args", fmt.Sprintf("error 404/3603: no_such_ask Instance type by id %d is not available.", offerID))
		b["ask_id"] = offerID
		return writeJSON(w, http.StatusNotFound, b)
	}
	cancelUnavail := req.CancelUnavail == nil || *req.CancelUnavail
	if of.Unavailable && cancelUnavail {
		// create_instance.yaml, 410: "when cancel_unavail is true and
		// instance cannot start". Nothing is rented, nothing billed.
		b := errBody("no_such_ask", fmt.Sprintf("error 410/3907: no_such_ask Instance type %d is no longer available.", offerID))
		b["ask_id"] = offerID
		return writeJSON(w, http.StatusGone, b)
	}
	of.rented = true
	id := f.nextID
	f.nextID++
	in := &Instance{
		ID: id, OfferID: offerID, Label: req.Label, Image: req.Image, Runtype: req.Runtype,
		OnStart: req.OnStart, Env: req.Env, offer: of.Offer, steps: of.Lifecycle,
		started: float64(f.now().UnixNano()) / 1e9,
	}
	if of.Unavailable {
		// Without cancel_unavail VAST creates it stopped (vast-cli
		// vastai/SKILL.md: "--cancel-unavail — Fail if no machine
		// available (vs. create stopped)"), its disk billed from now on.
		// Its actual_status then is not documented: null here.
		in.steps = []Step{{Intended: "stopped"}}
	}
	if req.Disk != nil {
		in.Disk = *req.Disk
	}
	if len(in.steps) == 0 {
		in.steps = defaultLifecycle
	}
	in.observe(in.step(), in.CreatedAt()) // running from the first read on: from its creation
	for _, k := range f.keys {
		in.Keys = append(in.Keys, k.Key)
	}
	f.insts[id] = in
	return writeJSON(w, http.StatusOK, map[string]any{"success": true, "new_contract": id})
}

func (f *Fake) showInstance(w http.ResponseWriter, id int64) int {
	f.mu.Lock()
	in := f.insts[id]
	if in == nil {
		// No 404: the official CLI reads {"instances": null} after
		// raise_for_status as "not found or no longer exists" (vast-cli
		// vast.py show__instance), and the docs list no 404 for this path
		// (vast-ai/docs api-reference/openapi/yaml/show_instance.yaml).
		f.mu.Unlock()
		return writeJSON(w, http.StatusOK, map[string]any{"instances": nil})
	}
	if in.Destroyed {
		in.goneReads++
		gone := in.goneReads > f.opts.DestroyLag
		wi := in.wire(Step{Status: "exited", Msg: "destroying"}, f.opts.Direct)
		f.mu.Unlock()
		if gone {
			return writeJSON(w, http.StatusOK, map[string]any{"instances": nil})
		}
		return writeJSON(w, http.StatusOK, map[string]any{"instances": wi})
	}
	if in.hiddenReads < f.opts.ShowLag && !in.seeded {
		in.hiddenReads++ // see Options.ShowLag; the lifecycle waits too
		f.mu.Unlock()
		return writeJSON(w, http.StatusOK, map[string]any{"instances": nil})
	}
	in.polls++
	st := in.step()
	in.observe(st, f.now())                                                  // reads advance the lifecycle: this one may have made it run or stop
	up := st.Status == "running" || (f.opts.SSHAfter > 0 && st.Status != "") // see Options.SSHAfter
	needSSH := up && !in.sshDone && f.opts.SSH != nil                        // f.mu held
	f.mu.Unlock()
	if needSSH {
		f.resolveSSH(in)
	}
	f.mu.Lock()
	wi := in.wire(st, f.opts.Direct)
	f.mu.Unlock()
	return writeJSON(w, http.StatusOK, map[string]any{"instances": wi})
}

// resolveSSH asks the test where the instance's SSH server is, once.
func (f *Fake) resolveSSH(in *Instance) {
	f.hookMu.Lock()
	defer f.hookMu.Unlock()
	f.mu.Lock()
	done, hook := in.sshDone, f.opts.SSH
	f.mu.Unlock()
	if done {
		return
	}
	host, port, err := hook(strconv.FormatInt(in.ID, 10))
	f.mu.Lock()
	defer f.mu.Unlock()
	in.sshDone = true
	if err == nil {
		in.sshHost, in.sshPort = host, port
	}
}

// step is the lifecycle step the instance is in after in.polls reads.
func (in *Instance) step() Step {
	if in.seeded {
		return Step{Status: in.status}
	}
	seen := 0
	for i, s := range in.steps {
		n := s.Polls
		if n < 1 {
			n = 1
		}
		seen += n
		if in.polls <= seen || i == len(in.steps)-1 {
			return s
		}
	}
	return Step{}
}

func (f *Fake) destroyInstance(w http.ResponseWriter, id int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.insts[id]
	// Both answers as vast-ai/docs api-reference/openapi/yaml/destroy_instance.yaml gives them.
	if in == nil || (in.Destroyed && in.goneReads >= f.opts.DestroyLag) {
		return writeJSON(w, http.StatusNotFound, errBody("not_found", "Instance not found"))
	}
	if !in.Destroyed {
		in.DeletedAt = f.now() // billing stops here, not when reads stop showing it
	}
	in.Destroyed = true // a second DELETE while it is still shown is accepted again
	return writeJSON(w, http.StatusOK, map[string]any{"success": true, "msg": "Instance destroyed successfully"})
}

// sshKeyOf reads {"ssh_key": "..."} and checks it looks like an OpenSSH public key.
func sshKeyOf(body []byte) (string, bool) {
	var req struct {
		SSHKey string `json:"ssh_key"`
	}
	if json.Unmarshal(body, &req) != nil {
		return "", false
	}
	s := strings.TrimSpace(req.SSHKey)
	return req.SSHKey, strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-") || strings.HasPrefix(s, "sk-")
}

// listKeys is GET /api/v0/ssh/. An account without keys gets a 404
// "No SSH keys found", not an empty list: that is what VAST answers a fresh
// account (seen against console.vast.ai, issue 11).
func (f *Fake) listKeys(w http.ResponseWriter) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.keys) == 0 {
		return writeJSON(w, http.StatusNotFound, errBody("not_found", "No SSH keys found"))
	}
	out := make([]map[string]any, 0, len(f.keys))
	for _, k := range f.keys {
		out = append(out, map[string]any{"id": k.ID, "user_id": 4242, "key": k.Key, "created_at": "2026-11-01T12:00:00Z", "deleted_at": nil})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (f *Fake) addKey(w http.ResponseWriter, body []byte) int {
	key, ok := sshKeyOf(body)
	if strings.TrimSpace(key) == "" {
		// vast-ai/docs api-reference/openapi/yaml/create_ssh_key.yaml, 400.
		return writeJSON(w, http.StatusBadRequest, errBody("no_ssh_key", "No ssh key provided"))
	}
	if !ok {
		return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "ssh_key must be an OpenSSH public key."))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := accountKey{ID: int64(len(f.keys) + 1), Key: key}
	f.keys = append(f.keys, k)
	return writeJSON(w, http.StatusOK, map[string]any{"success": true, "key": map[string]any{
		"id": k.ID, "user_id": 4242, "public_key": k.Key, "created_at": "2026-11-01T12:00:00Z", "deleted_at": nil,
	}})
}
