package integration

import (
	"path/filepath"
	"testing"
)

// TestPythonExample builds examples/python on the suite's Debian base:
// apt-get inside a RUN reaches Debian's packages as the host does.
func TestPythonExample(t *testing.T) {
	debianBase(t)
	e := newEnv(t)
	e.must("build", "-t", "pyhello", filepath.Join(repoDir(t), "examples", "python"))
	if got := e.must("run", "--rm", "pyhello").stdout; got != "hello docker\n" {
		t.Errorf("run --rm pyhello printed %q", got)
	}
}

// TestRemoteBuildkitd: --addr makes the same client talk to a stock
// buildkitd; the image still lands in the local store and runs.
func TestRemoteBuildkitd(t *testing.T) {
	bk := startBuildkitd(t)
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo remote > /r\nCMD [\"cat\", \"/r\"]\n",
	})
	e.must("--addr", bk.addr, "build", "-t", "remote", dir)
	if got := e.must("run", "--rm", "remote").stdout; got != "remote\n" {
		t.Errorf("run printed %q", got)
	}
	// A local-store image is a FROM source for the remote solver too.
	dir2 := writeContext(t, map[string]string{"Dockerfile": "FROM remote\nRUN echo again >> /r\n"})
	e.must("--addr", bk.addr, "build", "-t", "remote2", dir2)
	if got := e.must("run", "--rm", "remote2").stdout; got != "remote\nagain\n" {
		t.Errorf("run printed %q", got)
	}
}
