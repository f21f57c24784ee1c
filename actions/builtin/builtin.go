// Package builtin gathers every built-in action in one registry: the one
// map to read to know what scenarios can do.
package builtin

import (
	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/http"
	"github.com/scnlabs/scn/actions/misc"
)

// Registry returns the built-in actions.
func Registry() *actions.Registry {
	return actions.NewRegistry(
		http.Request,
		misc.Log,
		misc.Sleep,
	)
}
