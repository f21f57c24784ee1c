package vasttest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

// wireInstance is an instance as VAST's API documents it (a subset of its
// ~100 fields, with the same names and JSON types).
type wireInstance struct {
	ID             int64                    `json:"id"`
	ActualStatus   *string                  `json:"actual_status"`
	IntendedStatus string                   `json:"intended_status"`
	CurState       string                   `json:"cur_state"`
	NextState      string                   `json:"next_state"`
	StatusMsg      *string                  `json:"status_msg"`
	Label          *string                  `json:"label"`
	ImageUUID      string                   `json:"image_uuid"`
	ImageRuntype   string                   `json:"image_runtype"`
	OnStart        string                   `json:"onstart"`
	SSHHost        *string                  `json:"ssh_host"`
	SSHIdx         *string                  `json:"ssh_idx"`
	SSHPort        *int                     `json:"ssh_port"`
	PublicIPAddr   *string                  `json:"public_ipaddr"`
	Ports          map[string][]portBinding `json:"ports"`
	MachineID      int64                    `json:"machine_id"`
	StartDate      float64                  `json:"start_date"`
	DPHTotal       float64                  `json:"dph_total"` // machine + the disk rented, USD/h
	StorageCost    float64                  `json:"storage_cost"`
	GPUName        string                   `json:"gpu_name"`
	NumGPUs        int                      `json:"num_gpus"`
	DiskSpace      float64                  `json:"disk_space"`
	Geolocation    string                   `json:"geolocation"`
}

type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"` // Docker spells ports as strings
}

func ptr[T any](v T) *T { return &v }

// wire renders the instance as it looks in step st.
func (in *Instance) wire(st Step, direct bool) wireInstance {
	w := wireInstance{
		ID: in.ID, IntendedStatus: "running", CurState: "running", NextState: "running",
		ImageUUID: in.Image, ImageRuntype: in.Runtype, OnStart: in.OnStart,
		Ports: map[string][]portBinding{}, MachineID: 30000 + in.offer.ID%1000, StartDate: in.started,
		DPHTotal: in.dphTotal(), StorageCost: in.offer.StorageCost, GPUName: in.offer.GPUName, NumGPUs: in.offer.NumGPUs,
		DiskSpace: in.Disk, Geolocation: in.offer.Geolocation,
	}
	if in.Label != "" {
		w.Label = ptr(in.Label)
	}
	if st.Status != "" {
		w.ActualStatus = ptr(st.Status)
		w.PublicIPAddr = ptr("192.0.2.10") // TEST-NET-1: never dialled
	}
	if st.Msg != "" {
		w.StatusMsg = ptr(st.Msg)
	}
	if st.Intended != "" {
		w.IntendedStatus, w.NextState = st.Intended, st.Intended
	}
	if in.Destroyed {
		// cur_state "unloaded": released on destroy (docs.vast.ai, show-instance).
		w.IntendedStatus, w.CurState, w.NextState = "stopped", "unloaded", "stopped"
	}
	if in.sshHost == "" || in.Destroyed {
		return w
	}
	if direct {
		// The direct port is the real server; the proxy beside it does not exist.
		w.PublicIPAddr = ptr(in.sshHost)
		w.Ports["22/tcp"] = []portBinding{{HostIP: "0.0.0.0", HostPort: strconv.Itoa(in.sshPort)}}
		w.SSHHost, w.SSHIdx, w.SSHPort = ptr("ssh7.vast.ai"), ptr("7"), ptr(30000+int(in.ID%1000))
	} else {
		w.SSHHost, w.SSHIdx, w.SSHPort = ptr(in.sshHost), ptr("7"), ptr(in.sshPort)
	}
	return w
}

// fields are an offer's searchable columns, priced with disk GB of storage
// (the search's allocated_storage): dph_total is the machine plus that disk,
// so a dph_total filter compares like with like.
func (o *offerState) fields(disk float64) map[string]any {
	return map[string]any{
		"id": float64(o.ID), "gpu_name": o.GPUName, "num_gpus": float64(o.NumGPUs),
		"dph_total": o.dphTotal(disk), "dph_base": o.DPHTotal, "storage_cost": o.StorageCost,
		"storage_total_cost": o.StorageCost * disk / hoursPerMonth,
		"inet_up_cost":       o.InetUpCost, "inet_down_cost": o.InetDownCost,
		"reliability": o.Reliability, "reliability2": o.Reliability,
		"disk_space": o.DiskSpace, "geolocation": o.Geolocation,
		"rentable": !o.rented && !o.taken, "rented": o.rented || o.taken,
		"verified": !o.Unverified, "external": false,
	}
}

func (o *offerState) wire(disk float64) map[string]any {
	m := o.fields(disk)
	m["id"] = o.ID
	m["num_gpus"] = o.NumGPUs
	m["ask_contract_id"] = o.ID
	m["machine_id"] = 30000 + o.ID%1000
	m["gpu_ram"] = 24564
	m["cpu_cores"] = 16
	m["inet_down"] = 850.5
	m["inet_up"] = 420.1
	m["cuda_max_good"] = 12.4
	m["direct_port_count"] = 100
	return m
}

// notQueryFields are the search body's keys that are not column filters.
var notQueryFields = map[string]bool{"order": true, "type": true, "limit": true, "allocated_storage": true}

func (f *Fake) searchOffers(w http.ResponseWriter, body []byte) int {
	var q map[string]json.RawMessage
	if err := json.Unmarshal(body, &q); err != nil {
		return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "Invalid search query: "+err.Error()))
	}
	var order [][]string
	if raw, ok := q["order"]; ok && json.Unmarshal(raw, &order) != nil {
		return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "order must be a list of [field, direction]."))
	}
	limit := 64
	if raw, ok := q["limit"]; ok {
		if json.Unmarshal(raw, &limit) != nil || limit <= 0 {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "limit must be a positive integer."))
		}
	}
	disk := DefaultAllocatedStorage
	if raw, ok := q["allocated_storage"]; ok {
		if json.Unmarshal(raw, &disk) != nil || disk < 0 {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "allocated_storage must be a number of GB."))
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var hits []*offerState
	for _, o := range f.offers {
		ok, err := f.matchAll(o.fields(disk), q)
		if err != nil {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", err.Error()))
		}
		if ok {
			hits = append(hits, o)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].ID < hits[j].ID })
	for k := len(order) - 1; k >= 0; k-- {
		if len(order[k]) == 0 {
			continue
		}
		col, desc := order[k][0], len(order[k]) > 1 && order[k][1] == "desc"
		sort.SliceStable(hits, func(i, j int) bool {
			c := f.compare(hits[i].fields(disk)[col], hits[j].fields(disk)[col])
			if desc {
				return c > 0
			}
			return c < 0
		})
	}
	if len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]map[string]any, len(hits))
	for i, o := range hits {
		out[i] = o.wire(disk)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"offers": out})
}

// listInstances is GET /api/v1/instances/: keyset pagination by id, at
// most 25 per page, select_filters on stored columns.
func (f *Fake) listInstances(w http.ResponseWriter, r *http.Request) int {
	qs := r.URL.Query()
	limit := 25
	if s := qs.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "limit must be an integer."))
		}
		limit = min(n, 25)
		if limit <= 0 {
			limit = 5
		}
	}
	var after int64
	if tok := qs.Get("after_token"); tok != "" {
		raw, err := base64.StdEncoding.DecodeString(tok)
		var cur struct {
			Values struct {
				ID int64 `json:"id"`
			} `json:"values"`
		}
		if err != nil || json.Unmarshal(raw, &cur) != nil || cur.Values.ID <= 0 {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "Invalid after_token."))
		}
		after = cur.Values.ID
	}
	// order_by as the official clients send it (vastai/api/instances.py
	// show_instances): the fake pages by id only, as that order is; an
	// unknown column is a 400, as on VAST (show_instances.yaml).
	if s := qs.Get("order_by"); s != "" {
		var order []struct{ Col, Dir string }
		if err := json.Unmarshal([]byte(s), &order); err != nil {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "order_by must be a JSON array of {col, dir}."))
		}
		for _, o := range order {
			if o.Col != "id" || o.Dir == "desc" {
				return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", fmt.Sprintf("order_by %s %s is not modelled by the fake.", o.Col, o.Dir)))
			}
		}
	}
	filters := map[string]json.RawMessage{}
	if s := qs.Get("select_filters"); s != "" {
		if err := json.Unmarshal([]byte(s), &filters); err != nil {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", "select_filters must be a JSON object."))
		}
		for col := range filters {
			if col != "label" && col != "actual_status" && col != "id" && col != "gpu_name" {
				return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", fmt.Sprintf("Column %s is not filterable.", col)))
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int64
	for id, in := range f.insts {
		if in.Destroyed {
			continue
		}
		st := in.step()
		row := map[string]any{"id": float64(id), "gpu_name": in.offer.GPUName, "label": nil, "actual_status": nil}
		if in.Label != "" {
			row["label"] = in.Label
		}
		if st.Status != "" {
			row["actual_status"] = st.Status
		}
		ok, err := f.matchAll(row, filters)
		if err != nil {
			return writeJSON(w, http.StatusBadRequest, errBody("invalid_args", err.Error()))
		}
		if ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	total := len(ids)
	start := sort.Search(len(ids), func(i int) bool { return ids[i] > after })
	page := ids[start:]
	var next any
	if len(page) > limit {
		page = page[:limit]
		cur, _ := json.Marshal(map[string]any{"values": map[string]any{"id": page[len(page)-1]}})
		next = base64.StdEncoding.EncodeToString(cur)
	}
	out := make([]wireInstance, len(page))
	labels := map[string]int{}
	for i, id := range page {
		in := f.insts[id]
		out[i] = in.wire(in.step(), f.opts.Direct)
		labels[in.Label]++
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "instances_found": len(out), "total_instances": total,
		"label_counts": labels, "next_token": next, "instances": out,
	})
}
