// Package builtin gathers every built-in action in one registry: the one
// map to read to know what scenarios can do.
package builtin

import (
	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/failover"
	"github.com/scnlabs/scn/actions/files"
	"github.com/scnlabs/scn/actions/gpu"
	"github.com/scnlabs/scn/actions/http"
	"github.com/scnlabs/scn/actions/instance"
	"github.com/scnlabs/scn/actions/misc"
	"github.com/scnlabs/scn/actions/snapshot"
	"github.com/scnlabs/scn/actions/ssh"
	"github.com/scnlabs/scn/actions/standby"
)

// Registry returns the built-in actions.
func Registry() *actions.Registry {
	return actions.NewRegistry(
		failover.Restore,
		files.Create,
		files.Verify,
		gpu.Info,
		gpu.Offers,
		http.Request,
		instance.Create,
		instance.Destroy,
		instance.List,
		instance.Status,
		misc.Log,
		misc.Sleep,
		snapshot.Create,
		snapshot.Delete,
		snapshot.List,
		snapshot.Restore,
		ssh.Exec,
		standby.Create,
		standby.Status,
		standby.Sync,
	)
}
