package vast

import (
	"encoding/json"
	"strings"
	"testing"
)

// showInstance is the start of docs.vast.ai's example answer to GET
// /api/v0/instances/{id}/ (api-reference/instances/show-instance), with
// its "ports" as that page gives it — a list of numbers, where the
// official CLI and the fake read an object of Docker bindings.
const showInstance = `{"instances": {"id": 883, "actual_status": "running", "intended_status": "running",
 "cur_state": "running", "next_state": "running", "label": null, "image_uuid": "tensorflow/tensorflow:latest-gpu",
 "image_args": [], "image_runtype": "ssh", "extra_env": [], "onstart": null, "status_msg": null,
 "local_ipaddrs": "10.2.202.31 172.17.0.1 \n", "ssh_host": "ssh2281.vast.ai", "ssh_idx": "2281", "ssh_port": 10882,
 "machine_id": 178, "start_date": 1761008618.225083, "end_date": 2034617753, "uptime_mins": null,
 "gpu_name": "RTX A5000", "disk_space": 10, "direct_port_count": 12, "direct_port_start": -1, "direct_port_end": -1,
 "ports": PORTS, "static_ip": true, "public_ipaddr": "63.135.50.11", "dph_total": 0.2, "num_gpus": 1}}`

// Whatever form "ports" takes, the instance is read: an object of
// bindings gives the direct port, anything else VAST's proxy.
func TestInstanceIsReadWhateverItsPortsLookLike(t *testing.T) {
	for _, c := range []struct {
		ports, host string
		port        int
	}{
		{`[8080, 8081]`, "ssh2281.vast.ai", 10882},
		{`null`, "ssh2281.vast.ai", 10882},
		{`{}`, "ssh2281.vast.ai", 10882},
		{`{"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41234"}]}`, "63.135.50.11", 41234},
	} {
		body := []byte(strings.Replace(showInstance, "PORTS", c.ports, 1))
		var resp struct {
			Instances *wireInstance `json:"instances"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Errorf("ports %s: %v", c.ports, err)
			continue
		}
		inst := toInstance(resp.Instances, Workspace)
		if inst.Host != c.host || inst.Port != c.port || inst.Status != "running" || inst.ID != "883" {
			t.Errorf("ports %s: %s at %s:%d, want running at %s:%d", c.ports, inst.Status, inst.Host, inst.Port, c.host, c.port)
		}
	}
	var m portMaps
	if err := json.Unmarshal([]byte(`{"22/tcp": "nope"}`), &m); err == nil {
		t.Error("an object of bindings that are not bindings was read without an error")
	}
}
