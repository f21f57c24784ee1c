package sandbox

import (
	"net"

	"github.com/scnlabs/scn/internal/throttle"
)

// Throttle slows c down to bytesPerSec in each direction, like a congested
// proxy between scn and a GPU host (throttle.Conn).
func Throttle(c net.Conn, bytesPerSec int64) net.Conn { return throttle.Conn(c, bytesPerSec) }
