package vast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
)

// wireInstance is the part of a VAST instance (a "contract") scn reads, as
// GET /api/v0/instances/{id}/ and GET /api/v1/instances/ return it. Most
// fields are null while the instance is being placed.
type wireInstance struct {
	ID           int64   `json:"id"`
	ActualStatus *string `json:"actual_status"`
	// IntendedStatus is what VAST is driving the instance to: "stopped"
	// when it will not (re)start, e.g. a host that could not schedule it.
	IntendedStatus *string  `json:"intended_status"`
	StatusMsg      *string  `json:"status_msg"`
	Label          *string  `json:"label"`
	SSHHost        *string  `json:"ssh_host"`
	SSHPort        flexInt  `json:"ssh_port"`
	PublicIPAddr   *string  `json:"public_ipaddr"`
	Ports          portMaps `json:"ports"`
	ImageRuntype   *string  `json:"image_runtype"`
	DPHTotal       float64  `json:"dph_total"`    // machine + disk, USD/h
	StorageCost    float64  `json:"storage_cost"` // USD per GB per month of disk
	DiskSpace      float64  `json:"disk_space"`   // GB rented
	GPUName        *string  `json:"gpu_name"`
	NumGPUs        int      `json:"num_gpus"`
	StartDate      *float64 `json:"start_date"`
}

// portMap is one Docker port binding: {"HostIp":"0.0.0.0","HostPort":"41234"}.
type portMap struct {
	HostIP   string  `json:"HostIp"`
	HostPort flexInt `json:"HostPort"`
}

// portMaps are an instance's Docker port bindings by container port, as
// the official CLI reads them (vast.py: instance.get("ports", {})["22/tcp"]).
// docs.vast.ai's show-instance example gives "ports" as a list of numbers
// instead ([8080, 8081]); a list, null or anything else but an object is
// read as no bindings, so such an answer still gives the instance (its SSH
// through VAST's proxy) rather than failing every status read — those of
// the destroy too.
type portMaps map[string][]portMap

func (m *portMaps) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		*m = nil
		return nil
	}
	var out map[string][]portMap
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	*m = out
	return nil
}

// flexInt reads a port that VAST sends as a number, a numeric string or null.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = 0
		return nil
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
		return fmt.Errorf("port %s is not a port number", b)
	}
	*f = flexInt(v)
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

// status maps VAST's actual_status onto scn's words: null is "creating"
// (no machine yet); loading, running, exited, stopped, offline and unknown
// are the same words; anything else (frozen, rebooting…) passes through.
// An intended_status of "stopped" wins over a still-loading actual status:
// VAST has decided the instance will not run, so waiting for it is futile.
func status(actual, intended *string) string {
	s := strings.ToLower(str(actual))
	if strings.EqualFold(str(intended), cloud.StatusStopped) && s != cloud.StatusExited {
		return cloud.StatusStopped
	}
	if s == "" {
		return cloud.StatusCreating
	}
	return s
}

// sshAddr picks the SSH address the way the CLI's ssh-url does: the direct
// port (public_ipaddr + ports["22/tcp"][0].HostPort) when the host has one,
// else VAST's proxy (ssh_host:ssh_port, +1 for jupyter runtypes). Empty
// when VAST has not assigned one yet.
func sshAddr(w *wireInstance) (string, int) {
	if binds := w.Ports["22/tcp"]; len(binds) > 0 && binds[0].HostPort > 0 && str(w.PublicIPAddr) != "" {
		return str(w.PublicIPAddr), int(binds[0].HostPort)
	}
	host, port := str(w.SSHHost), int(w.SSHPort)
	if host == "" || port <= 0 {
		return "", 0
	}
	if strings.Contains(str(w.ImageRuntype), "jupyter") {
		port++
	}
	return host, port
}

// hoursPerMonth is the month VAST quotes storage_cost per: 30 days.
const hoursPerMonth = 30 * 24

// toInstance converts VAST's view of an instance to scn's; workspace is
// the provider's (VAST does not report one).
func toInstance(w *wireInstance, workspace string) cloud.Instance {
	inst := cloud.Instance{
		ID:           strconv.FormatInt(w.ID, 10),
		Provider:     ProviderName,
		Label:        str(w.Label),
		Status:       status(w.ActualStatus, w.IntendedStatus),
		StatusMsg:    str(w.StatusMsg),
		User:         "root",
		Workspace:    workspace,
		GPU:          gpuID(str(w.GPUName)),
		NumGPUs:      w.NumGPUs,
		PricePerHour: w.DPHTotal,
		// The disk's part of dph_total: VAST bills it for as long as the
		// instance exists, the rest only while it runs (cloud.Instance).
		StoragePerHour: w.StorageCost * w.DiskSpace / hoursPerMonth,
	}
	inst.Host, inst.Port = sshAddr(w)
	if w.StartDate != nil && *w.StartDate > 0 {
		sec, frac := math.Modf(*w.StartDate)
		inst.CreatedAt = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	return inst
}
