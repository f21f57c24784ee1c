package standby

import (
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
)

func TestStandbyDirMapsWorkspaceToWorkspace(t *testing.T) {
	gpu := &cloud.Instance{ID: "g", Workspace: "/sbx/l-1/workspace"}
	sb := &cloud.Instance{ID: "s", Workspace: "/sbx/l-2/workspace"}
	for _, tc := range []struct{ path, standbyPath, gpuDir, sbDir string }{
		{"", "", "/sbx/l-1/workspace", "/sbx/l-2/workspace"},
		{"models/ckpt", "", "/sbx/l-1/workspace/models/ckpt", "/sbx/l-2/workspace/models/ckpt"},
		{"/sbx/l-1/workspace/data", "", "/sbx/l-1/workspace/data", "/sbx/l-2/workspace/data"},
		{"/data", "", "/data", "/sbx/l-2/workspace"},
		{"", "copy", "/sbx/l-1/workspace", "/sbx/l-2/workspace/copy"},
		{"", "/mnt/copy", "/sbx/l-1/workspace", "/mnt/copy"},
		{"/sbx/l-1/workspace-other", "", "/sbx/l-1/workspace-other", "/sbx/l-2/workspace"},
	} {
		gpuDir, err := Dir(gpu, tc.path)
		if err != nil {
			t.Fatal(err)
		}
		sbDir, err := StandbyDir(gpu, sb, gpuDir, tc.standbyPath)
		if err != nil {
			t.Fatal(err)
		}
		if gpuDir != tc.gpuDir || sbDir != tc.sbDir {
			t.Errorf("path %q standby_path %q: %s → %s, want %s → %s", tc.path, tc.standbyPath, gpuDir, sbDir, tc.gpuDir, tc.sbDir)
		}
	}
	if _, err := Dir(&cloud.Instance{ID: "x"}, ""); err == nil {
		t.Error("an instance without a workspace and no absolute path must be refused")
	}
}

func TestFindNeedsTheRunsSharedState(t *testing.T) {
	if _, err := Find(nil, "s"); err == nil || err.Error() != "this run keeps no shared state: standby associations cannot be found" {
		t.Errorf("no shared state: %v", err)
	}
	shared := sharedMap{}
	if _, err := Find(shared, "s"); err == nil || err.Error() != "no standby association for s in this run: standby.create makes one, and associations live only as long as the run that made them" {
		t.Errorf("no association: %v", err)
	}
	reg, err := RunRegistry(shared)
	if again, _ := RunRegistry(shared); err != nil || reg == nil || again != reg {
		t.Errorf("the run's registry is not kept: %p %p %v", reg, again, err)
	}
}

// sharedMap is a run's shared values (actions.Shared) without the lock.
type sharedMap map[string]any

func (m sharedMap) Load(key string, init func() any) any {
	if _, ok := m[key]; !ok {
		m[key] = init()
	}
	return m[key]
}
