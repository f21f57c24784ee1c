package ledger

import (
	"os"
	"testing"
)

func TestRunLockTellsLiveRunsFromDeadOnes(t *testing.T) {
	state := t.TempDir()
	release, err := LockRun(state, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if pid, live := RunLive(state, "r1"); !live || pid != os.Getpid() {
		t.Fatalf("runLive during the run = %d, %v; want our pid, live", pid, live)
	}
	if _, err := LockRun(state, "r1"); err == nil {
		t.Fatal("a second lock on the same run id succeeded")
	}
	release()
	if _, live := RunLive(state, "r1"); live {
		t.Fatal("run still live after release")
	}
	if lockFileLeft(state, "r1") {
		t.Error("release left the lock file")
	}
	// A crashed run leaves its file, unlocked: not live, and the file goes.
	os.WriteFile(liveLockPath(state, "r2"), []byte("12345\n"), 0o644)
	if _, live := RunLive(state, "r2"); live {
		t.Fatal("a stale lock file reads as a live run")
	}
	if lockFileLeft(state, "r2") {
		t.Error("the stale lock file was not removed")
	}
	if _, live := RunLive(state, "never"); live {
		t.Fatal("a run that never ran is live")
	}
}

func lockFileLeft(state, run string) bool {
	_, err := os.Stat(liveLockPath(state, run))
	return err == nil
}
