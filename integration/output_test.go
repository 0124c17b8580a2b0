//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputs: each -o type writes what its readers expect, checked with
// skopeo where it is an image.
func TestOutputs(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo out > /out\nCMD [\"cat\", \"/out\"]\n"})
	out := t.TempDir()

	dockerTar := filepath.Join(out, "d.tar")
	e.must("build", "-t", "outs:v1", "-o", "type=docker,dest="+dockerTar, dir)
	skopeo(t, "inspect", "docker-archive:"+dockerTar)
	if m := skopeo(t, "inspect", "docker-archive:"+dockerTar+":docker.io/library/outs:v1"); !strings.Contains(m, `"Layers"`) {
		t.Errorf("docker-archive inspect by name: %s", m)
	}
	// -o alone does not touch the store.
	if got := e.must("images", "-q").stdout; got != "" {
		t.Errorf("-o type=docker,dest also stored the image: %q", got)
	}

	ociTar := filepath.Join(out, "o.tar")
	e.must("build", "-o", "type=oci,dest="+ociTar, dir)
	skopeo(t, "inspect", "oci-archive:"+ociTar)

	local := filepath.Join(out, "local")
	e.must("build", "-o", "type=local,dest="+local, dir)
	if dt, err := os.ReadFile(filepath.Join(local, "out")); err != nil || string(dt) != "out\n" {
		t.Errorf("type=local: /out = %q, %v", dt, err)
	}

	plain := filepath.Join(out, "fs.tar")
	e.must("build", "-o", "type=tar,dest="+plain, dir)
	if !tarHas(t, plain, "out") {
		t.Error("type=tar lacks /out")
	}

	// dest=- streams to stdout, progress stays on stderr.
	r := e.must("build", "-o", "type=tar,dest=-", dir)
	if !tarHasReader(t, strings.NewReader(r.stdout), "out") {
		t.Error("type=tar,dest=- wrote no tar with /out to stdout")
	}

	// A registry push, read back by skopeo.
	ref := s.registry + "/test/outs:pushed"
	e.must("build", "-o", "type=image,name="+ref+",push=true", dir)
	skopeo(t, "inspect", "--tls-verify=false", "docker://"+ref)
	ref2 := s.registry + "/test/outs:pushed2"
	e.must("build", "--push", "-t", ref2, dir)
	skopeo(t, "inspect", "--tls-verify=false", "docker://"+ref2)
	if got := e.must("images", "--format", "{{.Repository}}:{{.Tag}}").stdout; got != s.registry+"/test/outs:pushed2\n" {
		t.Errorf("--push -t should also store the image; images = %q", got)
	}
	// A build that fails leaves no file at dest.
	bad := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN false\n"})
	failed := filepath.Join(out, "failed.tar")
	if r := e.run("build", "-o", "type=docker,dest="+failed, bad); r.code == 0 {
		t.Fatal("failing build exited 0")
	}
	if matches, _ := filepath.Glob(filepath.Join(out, "*failed.tar*")); len(matches) != 0 {
		t.Errorf("failed build left %v", matches)
	}
}

func skopeo(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("skopeo", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %v: %v\n%s", args, err, out)
	}
	var v any
	if json.Unmarshal(out, &v) != nil {
		t.Fatalf("skopeo %v: not JSON: %s", args, out)
	}
	return string(out)
}

func tarHas(t *testing.T, path, name string) bool {
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return tarHasReader(t, bytes.NewReader(dt), name)
}

func tarHasReader(t *testing.T, r io.Reader, name string) bool {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			return true
		}
	}
}
