//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageInUse: no image a container was made from is ever deleted from
// under it (issue 8, cases 1 and 5), with docker's messages: rmi refuses
// without -f; rmi -f of a stopped container's image drops the name and the
// container keeps working; of a running one's, untags by name and refuses
// by ID; image prune and prune -a skip every container's image. After each,
// the container starts, diffs and commits.
func TestImageInUse(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	id := strings.TrimSpace(e.must("images", "-q", "busybox").stdout)

	// A stopped container whose image then loses every name.
	e.must("run", "--name", "c1", "busybox", "sh", "-c", "echo hi > /file")
	if r := e.run("rmi", "busybox"); r.code == 0 || !strings.Contains(r.stderr, `conflict: unable to remove repository reference "busybox" (must force) - container `) {
		t.Errorf("rmi of a stopped container's image: %s", r)
	}
	if r := e.run("rmi", id); r.code == 0 || !strings.Contains(r.stderr, "(must be forced) - image is being used by stopped container") {
		t.Errorf("rmi by ID of a stopped container's image: %s", r)
	}
	e.must("image", "prune", "-a", "-f")
	if out := e.must("images", "-q").stdout; strings.TrimSpace(out) != id {
		t.Fatalf("image prune -a removed the stopped container's image: images -q = %q", out)
	}
	e.must("rmi", "-f", "busybox")
	if out := e.must("images", "-q").stdout; out != "" {
		t.Errorf("after rmi -f: images -q = %q", out)
	}
	e.must("image", "prune", "-a", "-f") // collects blobs: the container's must stay
	e.must("builder", "prune", "-a", "-f")
	workedOn(t, e, "c1")
	e.must("rmi", "c1-committed")

	// A running container's image: rmi -f by name untags and keeps it, by
	// ID refuses.
	e.must("pull", "-q", "busybox")
	e.must("run", "-d", "--name", "c2", "busybox", "sleep", "300")
	if r := e.run("rmi", "-f", id); r.code == 0 || !strings.Contains(r.stderr, "conflict: unable to delete "+id[:12]+" (cannot be forced) - image is being used by running container") {
		t.Errorf("rmi -f by ID of a running container's image: %s", r)
	}
	if r := e.must("rmi", "-f", "busybox"); r.stdout != "Untagged: busybox:latest\n" {
		t.Errorf("rmi -f of a running container's image printed %q", r.stdout)
	}
	if out := e.must("images", "--format", "{{.Repository}} {{.ID}}").stdout; out != "<none> "+id[:12]+"\n" {
		t.Errorf("after rmi -f with a running container, images = %q (docker keeps it as <none>)", out)
	}
	e.must("image", "prune", "-f") // dangling, but in use
	if out := e.must("images", "-q").stdout; strings.TrimSpace(out) != id {
		t.Errorf("image prune removed a running container's dangling image: %q", out)
	}
	e.must("commit", "c2", "c2img")
	e.must("rm", "-f", "c2")

	// The old image of a rebuilt name, used by a container, survives
	// image prune (the dangling one).
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo v1 > /v\n", "Dockerfile.v2": "FROM busybox\nRUN echo v2 > /v\n"})
	e.must("build", "-t", "app", dir)
	e.must("run", "--name", "appc", "app", "cat", "/v")
	e.must("build", "-t", "app", "-f", filepath.Join(dir, "Dockerfile.v2"), dir)
	e.must("image", "prune", "-f")
	if r := e.must("start", "-a", "appc"); r.stdout != "v1\n" {
		t.Errorf("start -a appc after prune printed %q", r.stdout)
	}

	// Once the containers are gone, their images and layers are collected.
	e.must("rm", "c1", "appc")
	e.must("image", "prune", "-a", "-f")
	if out := e.must("images", "-q").stdout; out != "" {
		t.Errorf("images left after removing the containers and prune -a: %q", out)
	}
	blobs, _ := os.ReadDir(filepath.Join(e.root, "images", "blobs", "sha256"))
	if len(blobs) != 0 {
		t.Errorf("%d blobs left after every image and container went", len(blobs))
	}
	layers, _ := os.ReadDir(filepath.Join(e.root, "layers"))
	if len(layers) != 0 {
		t.Errorf("%d unpacked layers left after every container went", len(layers))
	}
}

// workedOn checks that a stopped container still starts, diffs and commits.
func workedOn(t *testing.T, e *env, name string) {
	t.Helper()
	if r := e.run("start", "-a", name); r.code != 0 {
		t.Errorf("start %s: %s", name, r)
	}
	if r := e.run("diff", name); r.code != 0 || !strings.Contains(r.stdout, "A /file") {
		t.Errorf("diff %s: %s", name, r)
	}
	if r := e.run("commit", name, name+"-committed"); r.code != 0 {
		t.Errorf("commit %s: %s", name, r)
	}
	if r := e.run("run", "--rm", name+"-committed", "cat", "/file"); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("run of the commit of %s: %s", name, r)
	}
}

// TestSystemDF: system df counts images, the ones containers use, and the
// containers' writable layers from real figures (issue 8, case 9); -v
// lists them.
func TestSystemDF(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	e.must("run", "--name", "w", "busybox", "sh", "-c", "dd if=/dev/zero of=/x bs=1k count=600 2>/dev/null")
	df := e.must("system", "df").stdout
	fields := map[string][]string{}
	for _, line := range strings.Split(df, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			fields[f[0]] = f
		}
	}
	if f := fields["Images"]; len(f) < 5 || f[1] != "1" || f[2] != "1" || f[4] != "0B" {
		t.Errorf("Images line with one image a container uses: %v\n%s", f, df)
	}
	if f := fields["Containers"]; len(f) < 5 || f[1] != "1" || f[2] != "0" || f[3] != "614.4kB" {
		t.Errorf("Containers line with one stopped container that wrote 600 KiB: %v\n%s", f, df)
	}
	v := e.must("system", "df", "-v").stdout
	for _, want := range []string{"Images space usage:", "busybox", "Containers space usage:", " w\n", "Build cache usage:"} {
		if !strings.Contains(v, want) {
			t.Errorf("system df -v lacks %q:\n%s", want, v)
		}
	}
	e.must("rm", "w")
	df = e.must("system", "df").stdout
	if !strings.Contains(df, "Containers      0         0         0B") {
		t.Errorf("system df after rm:\n%s", df)
	}
}

// TestLogsOfForegroundRun: docker keeps a foreground container's output
// for logs, stdout and stderr alike.
func TestLogsOfForegroundRun(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	if r := e.must("run", "--name", "s", "busybox", "sh", "-c", "echo hi; echo oops >&2"); r.stdout != "hi\n" || r.stderr != "oops\n" {
		t.Errorf("run printed %q / %q", r.stdout, r.stderr)
	}
	// Each stream back on its own, as docker's logs gives them: their
	// order across the two is not kept (two pipes), but each is whole.
	if r := e.must("logs", "s"); r.stdout != "hi\n" || r.stderr != "oops\n" {
		t.Errorf("logs of a foreground run: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}
