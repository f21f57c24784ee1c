package gcptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	compute "google.golang.org/api/compute/v1"
)

// vm is one instance; the lock guards it.
type vm struct {
	res      *compute.Instance // as the API returns it
	body     []byte            // the insert body, verbatim
	sshPort  int
	deleting bool // a delete operation is under way
	released bool // SSHRelease was called
	// insert creates the VM. While it is PENDING, get, delete and list
	// answer as if the VM did not exist, as Compute Engine does for an
	// insert accepted and not started: "Can't remove an instance that was
	// not even yet created! However as the command was already submitted,
	// wait." (Google's Daisy, GoogleCloudPlatform/compute-daisy
	// instance.go deleteFn; compute-image-tools PR #542).
	insert *operation
}

// unseen reports whether the VM's insert has not started yet. The lock is held.
func (v *vm) unseen() bool { return v.insert != nil && v.insert.res.Status == "PENDING" }

// opError is one entry of an operation's error.errors.
type opError struct{ Code, Message string }

// operation is a zone operation; each poll moves it one step towards DONE,
// and done runs its effect when it gets there.
type operation struct {
	res     *compute.Operation
	fail    *opError
	stalled bool
	done    func()
}

// GCE names: RFC 1035 labels of at most 63 characters.
var namePattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (s *Server) zoneURL() string {
	return fmt.Sprintf("%s/compute/v1/projects/%s/zones/%s", s.URL, s.Project, s.Zone)
}

func (s *Server) newID() uint64 { s.nextID++; return s.nextID }

// newOp registers an operation on target. The lock is held.
func (s *Server) newOp(kind, target string, done func()) *operation {
	id := s.newID()
	name := fmt.Sprintf("operation-%d-%x", time.Now().UnixMilli(), id)
	op := &operation{done: done, res: &compute.Operation{
		Kind: "compute#operation", Id: id, Name: name, OperationType: kind,
		Status: "PENDING", Progress: 0, TargetLink: target,
		Zone: s.zoneURL(), SelfLink: s.zoneURL() + "/operations/" + name,
		InsertTime: time.Now().Format(time.RFC3339Nano), User: "scn-test@" + s.Project + ".iam.gserviceaccount.com",
	}}
	s.ops[name] = op
	if s.forget { // takes effect now, but nobody will find it again
		s.forget = false
		delete(s.ops, name)
		if done != nil {
			done()
		}
	}
	return op
}

// advance moves op one step: PENDING → RUNNING → DONE. The lock is held.
func (s *Server) advance(op *operation) {
	switch op.res.Status {
	case "PENDING":
		op.res.Status, op.res.Progress = "RUNNING", 50
	case "RUNNING":
		if !op.stalled {
			s.finish(op)
		}
	}
}

func (s *Server) finish(op *operation) {
	op.res.Status, op.res.Progress = "DONE", 100
	op.res.EndTime = time.Now().Format(time.RFC3339Nano)
	if op.fail != nil {
		op.res.Error = &compute.OperationError{Errors: []*compute.OperationErrorErrors{{Code: op.fail.Code, Message: op.fail.Message}}}
		op.res.HttpErrorStatusCode, op.res.HttpErrorMessage = httpStatusOf(op.fail.Code)
		return
	}
	if op.done != nil {
		op.done()
	}
}

// httpStatusOf is the status Compute Engine reports with an operation error.
func httpStatusOf(code string) (int64, string) {
	if strings.HasPrefix(code, "ZONE_RESOURCE_POOL_EXHAUSTED") {
		return http.StatusServiceUnavailable, "SERVICE UNAVAILABLE"
	}
	return http.StatusForbidden, "FORBIDDEN"
}

func (s *Server) insert(w http.ResponseWriter, r *http.Request, body []byte) {
	if id := r.URL.Query().Get("requestId"); id != "" {
		if op, ok := s.byRequest[id]; ok { // a retry of a request already taken
			writeJSON(w, http.StatusOK, op.res)
			return
		}
	}
	var in compute.Instance
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error: "+err.Error())
		return
	}
	if msg := s.invalid(&in); msg != "" {
		writeError(w, http.StatusBadRequest, "invalid", msg)
		return
	}
	if _, ok := s.vms[in.Name]; ok {
		writeError(w, http.StatusConflict, "alreadyExists",
			fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' already exists", s.Project, s.Zone, in.Name))
		return
	}
	link := s.zoneURL() + "/instances/" + in.Name
	op := s.newOp("insert", link, nil)
	switch {
	case s.insertErr != nil:
		op.fail, s.insertErr = s.insertErr, nil
	default:
		op.stalled, s.stall = s.stall, false
		v := s.newVM(&in, body, link)
		if _, kept := s.ops[op.res.Name]; kept { // a forgotten operation took effect at once
			v.insert = op
		}
		s.vms[in.Name] = v
	}
	if id := r.URL.Query().Get("requestId"); id != "" {
		s.byRequest[id] = op
	}
	writeJSON(w, http.StatusOK, op.res)
}

// invalid checks what Compute Engine would refuse with a 400.
func (s *Server) invalid(in *compute.Instance) string {
	switch {
	case !namePattern.MatchString(in.Name):
		return fmt.Sprintf("Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", in.Name)
	case !strings.Contains(in.MachineType, "zones/"+s.Zone+"/machineTypes/"):
		return fmt.Sprintf("Invalid value for field 'resource.machineType': '%s'. Machine type must be in zone %s.", in.MachineType, s.Zone)
	case len(in.Disks) == 0 || !in.Disks[0].Boot || in.Disks[0].InitializeParams == nil || in.Disks[0].InitializeParams.SourceImage == "":
		return "Invalid value for field 'resource.disks': ''. Boot disk must be specified."
	case len(in.NetworkInterfaces) == 0:
		return "Invalid value for field 'resource.networkInterfaces': ''. At least one network interface is required."
	}
	for k, v := range in.Labels {
		if !labelPattern.MatchString(k) || !labelValuePattern.MatchString(v) {
			return fmt.Sprintf("Invalid value for field 'resource.labels': '%s=%s'.", k, v)
		}
	}
	return ""
}

var (
	labelPattern      = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValuePattern = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
)

// newVM turns an insert body into the resource the API reports. The lock is held.
func (s *Server) newVM(in *compute.Instance, body []byte, link string) *vm {
	res := *in
	res.Kind, res.Id, res.SelfLink, res.Zone = "compute#instance", s.newID(), link, s.zoneURL()
	res.Status = "PROVISIONING"
	now := time.Now().Truncate(time.Millisecond) // creationTimestamp has milliseconds
	res.CreationTimestamp = now.Format("2006-01-02T15:04:05.000-07:00")
	if !strings.HasPrefix(res.MachineType, "http") {
		res.MachineType = s.URL + "/compute/v1/projects/" + s.Project + "/" + strings.TrimPrefix(res.MachineType, "/")
	}
	nics := make([]*compute.NetworkInterface, len(in.NetworkInterfaces))
	for i, n := range in.NetworkInterfaces {
		nic := *n
		nic.Name, nic.NetworkIP = "nic"+strconv.Itoa(i), fmt.Sprintf("10.128.0.%d", 2+len(s.vms))
		nic.AccessConfigs = nil
		for _, ac := range n.AccessConfigs {
			c := *ac
			c.Kind, c.NetworkTier = "compute#accessConfig", "PREMIUM"
			nic.AccessConfigs = append(nic.AccessConfigs, &c)
		}
		nics[i] = &nic
	}
	res.NetworkInterfaces = nics
	spot := in.Scheduling != nil && in.Scheduling.ProvisioningModel == "SPOT"
	s.bills[in.Name] = &usage{machine: path.Base(in.MachineType), spot: spot, start: now}
	return &vm{res: &res, body: body}
}

// step moves a VM one poll further in its life. The lock is held.
func (s *Server) step(v *vm) {
	switch v.res.Status {
	case "PROVISIONING":
		v.res.Status = "STAGING"
	case "STAGING":
		v.res.Status = "RUNNING"
		s.boot(v)
	case "STOPPING":
		if v.deleting {
			return // the delete operation decides
		}
		// A preempted Spot VM: gone with DELETE, kept stopped with STOP.
		if sc := v.res.Scheduling; sc != nil && sc.InstanceTerminationAction == "DELETE" {
			s.remove(v.res.Name)
			return
		}
		v.res.Status = "TERMINATED"
		s.stopBilling(v.res.Name)
	}
}

// boot gives a VM that reached RUNNING its SSH server and natIP. The lock is held.
func (s *Server) boot(v *vm) {
	host, port := fmt.Sprintf("192.0.2.%d", 1+len(s.vms)%250), 22
	if s.SSH != nil {
		var err error
		if host, port, err = s.SSH(v.res.Name); err != nil {
			v.res.Status, v.res.StatusMessage = "TERMINATED", "boot failed: "+err.Error()
			return
		}
	}
	v.sshPort = port
	for _, nic := range v.res.NetworkInterfaces {
		for _, ac := range nic.AccessConfigs {
			if ac.Type == "ONE_TO_ONE_NAT" {
				ac.NatIP = host
			}
		}
	}
}

// remove deletes a VM for good. The lock is held.
func (s *Server) remove(name string) {
	if _, ok := s.vms[name]; !ok {
		return
	}
	s.release(s.vms[name])
	s.stopBilling(name)
	delete(s.vms, name)
}

// release tells the test the VM's SSH server is no longer needed, once. The
// lock is held.
func (s *Server) release(v *vm) {
	if !v.released && v.sshPort != 0 && s.SSHRelease != nil {
		s.SSHRelease(v.res.Name)
	}
	v.released = true
}

// Preempt reclaims a Spot VM the way Compute Engine does: it goes STOPPING,
// then on the next poll TERMINATED (instanceTerminationAction STOP) or gone
// (DELETE). It reports whether the VM existed.
func (s *Server) Preempt(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vms[name]
	if !ok {
		return false
	}
	v.res.Status, v.res.StatusMessage = "STOPPING", "Instance was preempted."
	for _, nic := range v.res.NetworkInterfaces {
		for _, ac := range nic.AccessConfigs {
			ac.NatIP = ""
		}
	}
	s.release(v)
	return true
}

func (s *Server) notFound(w http.ResponseWriter, kind, name string) {
	writeError(w, http.StatusNotFound, "notFound",
		fmt.Sprintf("The resource 'projects/%s/zones/%s/%s/%s' was not found", s.Project, s.Zone, kind, name))
}

// lookup finds VM name as a get or delete sees it: not at all while its
// insert has not started. Looking lets time pass for such a VM: its
// insert operation moves on, as it does on its own on Compute Engine.
// The lock is held.
func (s *Server) lookup(name string) (*vm, bool) {
	v, ok := s.vms[name]
	if ok && v.unseen() {
		s.advance(v.insert)
		return nil, false
	}
	return v, ok
}

func (s *Server) getVM(w http.ResponseWriter, name string) {
	v, ok := s.lookup(name)
	if !ok {
		s.notFound(w, "instances", name)
		return
	}
	writeJSON(w, http.StatusOK, v.res)
	s.step(v) // time passes between polls
}

func (s *Server) deleteVM(w http.ResponseWriter, r *http.Request, name string) {
	if id := r.URL.Query().Get("requestId"); id != "" {
		if op, ok := s.byRequest[id]; ok {
			writeJSON(w, http.StatusOK, op.res)
			return
		}
	}
	v, ok := s.lookup(name)
	if !ok {
		s.notFound(w, "instances", name)
		return
	}
	v.deleting, v.res.Status = true, "STOPPING"
	op := s.newOp("delete", v.res.SelfLink, func() { s.remove(name) })
	if id := r.URL.Query().Get("requestId"); id != "" {
		s.byRequest[id] = op
	}
	writeJSON(w, http.StatusOK, op.res)
}

// pollOp serves operations.get and operations.wait alike: one step per call
// (a real wait can return before DONE, so clients must loop anyway).
func (s *Server) pollOp(w http.ResponseWriter, name string) {
	op, ok := s.ops[name]
	if !ok {
		s.notFound(w, "operations", name)
		return
	}
	s.advance(op)
	writeJSON(w, http.StatusOK, op.res)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	match, err := parseFilter(q.Get("filter"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid list filter expression '"+q.Get("filter")+"'.")
		return
	}
	var names []string
	for name, v := range s.vms {
		if v.unseen() {
			s.advance(v.insert) // as lookup: time passes
			continue
		}
		if match(v.res.Labels) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	size := 500
	if n, err := strconv.Atoi(q.Get("maxResults")); err == nil && n > 0 && n < size {
		size = n
	}
	if s.PageSize > 0 && s.PageSize < size {
		size = s.PageSize
	}
	start, _ := strconv.Atoi(q.Get("pageToken"))
	start = min(max(start, 0), len(names))
	end := min(start+size, len(names))
	out := &compute.InstanceList{Kind: "compute#instanceList", Id: "projects/" + s.Project + "/zones/" + s.Zone + "/instances",
		SelfLink: s.zoneURL() + "/instances", Items: []*compute.Instance{}}
	for _, name := range names[start:end] {
		out.Items = append(out.Items, s.vms[name].res)
	}
	if end < len(names) {
		out.NextPageToken = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, out)
}
