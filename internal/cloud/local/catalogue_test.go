package local

import "testing"

// Every GPU the catalogue rents answers nvidia-smi in its sandbox; its CPU
// machines have none.
func TestCatalogueGPUsAreKnownToNvidiaSMI(t *testing.T) {
	for _, o := range catalogue {
		g := gpuOf(o)
		switch {
		case o.NumGPUs == 0 && g != nil:
			t.Errorf("%s has no GPU but its nvidia-smi reports %+v", o.ID, g)
		case o.NumGPUs > 0 && (g == nil || g.Count != o.NumGPUs || g.MemoryMiB < 16000 || g.Name == ""):
			t.Errorf("%s (%d × %s): its nvidia-smi would report %+v", o.ID, o.NumGPUs, o.GPU, g)
		}
	}
}
