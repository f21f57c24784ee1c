package standby

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/store"
)

// BenchmarkSyncIncrement times one cycle carrying a 32 MiB increment (a
// new incompressible checkpoint) from GPU to standby, both machines over
// real SSH on loopback: streamed through scn, and relayed by the agents
// through a directory store and through the S3 test server. scn-MB/op is
// what passed through scn's process. The figures in docs/decisions.md
// ("Standby sync") come from
//
//	go test -run '^$' -bench SyncIncrement -benchtime 5x ./internal/standby/
func BenchmarkSyncIncrement(b *testing.B) {
	for _, via := range []string{"scn", "agent-dir", "agent-s3"} {
		b.Run(via, func(b *testing.B) { benchSync(b, via) })
	}
}

func benchSync(b *testing.B, via string) {
	r := newRig(b)
	gpu, sb := r.overSSH(b, r.machine(b)), r.overSSH(b, r.machine(b))
	o := Options{SyncTicks: make(chan time.Time), CheckTicks: make(chan time.Time)}
	switch via {
	case "scn":
		o.Agent = agentctl.New(agentctl.Binaries{Dir: b.TempDir()}) // none: streamed through scn
		o.Store = store.NewDir(b.TempDir())
	case "agent-dir":
		o.Agent, o.Store = agents(b), store.NewDir(filepath.Join(b.TempDir(), "store"))
	default:
		o.Agent = agents(b)
		o.Store, _ = s3Store(b)
	}
	write(b, filepath.Join(gpu.Dir, "README"), "run\n")
	a := start(b, gpu, sb, o)
	buf := make([]byte, 32<<20)
	rand.Read(buf)
	var scnBytes int64
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		buf[0] = byte(i) // a new checkpoint each time
		must(b, os.WriteFile(filepath.Join(gpu.Dir, fmt.Sprintf("ckpt-%d.pt", i)), buf, 0o644))
		b.StartTimer()
		c, err := a.Sync(context.Background(), nil)
		must(b, err)
		if want := map[string]string{"scn": ViaSCN}[via]; c.Via != ViaAgent && want == "" || want != "" && c.Via != want {
			b.Fatalf("cycle went via %q", c.Via)
		}
		scnBytes += c.SCNBytes
	}
	b.ReportMetric(float64(scnBytes)/1e6/float64(b.N), "scn-MB/op")
}
