//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestAnnotations: --annotation reaches the image in every output that
// writes one, as buildx puts it there: the OCI archive, the store, and a
// push, read back by skopeo.
func TestAnnotations(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "f\n"})
	flags := []string{"--provenance=false", "--annotation", "org.opencontainers.image.title=anno",
		"--annotation", "manifest-descriptor:com.example.desc=d", "--annotation", "manifest[linux/amd64]:com.example.amd64=yes"}

	// The OCI archive of two platforms: each manifest's descriptor in the
	// index carries manifest-descriptor, each manifest the plain key, and
	// only linux/amd64's the key qualified by its platform (BuildKit
	// applies a platform's annotations where the result names platforms:
	// stock buildkitd does the same).
	tarPath := filepath.Join(t.TempDir(), "a.tar")
	e.must(append(append([]string{"build"}, flags...), "--platform", "linux/amd64,linux/arm64", "-o", "type=oci,dest="+tarPath, dir)...)
	layout := t.TempDir()
	if out, err := exec.Command("tar", "-xf", tarPath, "-C", layout).CombinedOutput(); err != nil {
		t.Fatalf("untar: %v\n%s", err, out)
	}
	var top, idx ocispec.Index
	readJSON(t, filepath.Join(layout, "index.json"), &top)
	readJSON(t, filepath.Join(layout, "blobs", "sha256", top.Manifests[0].Digest.Encoded()), &idx)
	if len(idx.Manifests) != 2 {
		t.Fatalf("OCI archive's index: %+v", idx.Manifests)
	}
	for _, d := range idx.Manifests {
		if d.Annotations["com.example.desc"] != "d" {
			t.Errorf("%s descriptor: %v", d.Platform.Architecture, d.Annotations)
		}
		var m ocispec.Manifest
		readJSON(t, filepath.Join(layout, "blobs", "sha256", d.Digest.Encoded()), &m)
		_, amd64 := m.Annotations["com.example.amd64"]
		if m.Annotations["org.opencontainers.image.title"] != "anno" || amd64 != (d.Platform.Architecture == "amd64") {
			t.Errorf("%s manifest annotations: %v", d.Platform.Architecture, m.Annotations)
		}
	}

	// The store.
	e.must(append(append([]string{"build"}, flags...), "-t", "anno", dir)...)
	raw := skopeo(t, "inspect", "--raw", "oci:"+filepath.Join(e.root, "images")+":anno")
	var m ocispec.Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m.Annotations["org.opencontainers.image.title"] != "anno" {
		t.Errorf("the stored manifest: %v (%v)", m.Annotations, err)
	}

	// A push, and an -o annotation of the same key wins over the flag.
	ref := s.registry + "/anno/app:1"
	e.must(append(append([]string{"build"}, flags...), "--annotation", "com.example.both=flag",
		"-o", "type=image,name="+ref+",push=true,annotation.com.example.both=output", dir)...)
	raw = skopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	m = ocispec.Manifest{}
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m.Annotations["org.opencontainers.image.title"] != "anno" || m.Annotations["com.example.both"] != "output" {
		t.Errorf("the pushed manifest: %v (%v)", m.Annotations, err)
	}

	// Refused before anything is built.
	before := e.storeState()
	for _, bad := range []string{"novalue", "layer:k=v", "manifest[x/y/z/w]:k=v"} {
		if r := e.run("build", "--annotation", bad, "-t", "bad", dir); r.code == 0 {
			t.Errorf("--annotation %s accepted: %s", bad, r)
		}
	}
	if e.storeState() != before {
		t.Error("a refused --annotation changed the store")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(dt, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
