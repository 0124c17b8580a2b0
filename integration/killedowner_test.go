//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestOrphanSnapshotAfterKilledOwner: an owner killed between renaming a
// new snapshot's directory into place and committing its record (the kill
// sweep hit it) leaves a directory under the ID the next snapshot gets,
// and every later build failed on "file exists". The state is made here
// directly: directories under the next IDs, and the pid file a killed
// owner leaves. The next owner removes what no record names.
func TestOrphanSnapshotAfterKilledOwner(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nARG N\nRUN echo $N > /n\n"})
	e.must("build", "-q", "--build-arg", "N=1", dir)
	snaps := filepath.Join(e.root, "runc-overlayfs", "snapshots", "snapshots")
	ents, err := os.ReadDir(snaps)
	if err != nil {
		t.Fatal(err)
	}
	last := 0
	for _, d := range ents {
		if n, err := strconv.Atoi(d.Name()); err == nil && n > last {
			last = n
		}
	}
	for n := last + 1; n <= last+20; n++ {
		orphan := filepath.Join(snaps, strconv.Itoa(n), "fs")
		if err := os.MkdirAll(orphan, 0755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.root, "solver.pid"), []byte("999999\n"), 0600); err != nil {
		t.Fatal(err)
	}
	e.must("build", "-q", "--build-arg", "N=2", dir)
	e.must("build", "-q", "--build-arg", "N=3", dir)
	if _, err := os.Stat(filepath.Join(e.root, "solver.pid")); !os.IsNotExist(err) {
		t.Errorf("a clean shutdown left solver.pid (%v)", err)
	}
}
