package integration

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestPushPulledMultiPlatform: a pull of a multi-platform image keeps this
// machine's platform only; pushing it elsewhere then sends that platform's
// image, as docker's own store does, instead of failing on the manifests
// it never fetched.
func TestPushPulledMultiPlatform(t *testing.T) {
	e := newEnv(t)
	layout := multiPlatformLayout(t, e)
	ref := s.registry + "/test/multi:1"
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", "oci:"+layout+":multi", "docker://"+ref).CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy --all: %v\n%s", err, out)
	}

	e.must("pull", ref)
	single := s.registry + "/test/single:1"
	e.must("tag", ref, single)
	e.must("push", single)
	raw, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+single).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw: %v", err)
	}
	var pushed struct{ MediaType string }
	json.Unmarshal(raw, &pushed)
	if pushed.MediaType != ocispec.MediaTypeImageManifest {
		t.Errorf("pushed %s; want this platform's image manifest", pushed.MediaType)
	}
	cfg, err := exec.Command("skopeo", "inspect", "--config", "--tls-verify=false", "docker://"+single).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --config: %v", err)
	}
	var c struct{ Architecture string }
	json.Unmarshal(cfg, &c)
	if c.Architecture != runtime.GOARCH {
		t.Errorf("pushed image is %s; want %s", c.Architecture, runtime.GOARCH)
	}
}

// multiPlatformLayout makes an OCI layout holding one image for linux/amd64
// and linux/arm64 (FROM scratch, so no emulator is needed), indexed as
// "multi" (ref.name) and docker.io/library/multi:1.
func multiPlatformLayout(t *testing.T, e *env) string {
	t.Helper()
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x\n"})
	layout := t.TempDir()
	var manifests []ocispec.Descriptor
	for _, arch := range []string{"amd64", "arm64"} {
		out := filepath.Join(t.TempDir(), arch+".tar")
		e.must("build", "--platform", "linux/"+arch, "-o", "type=oci,dest="+out, dir)
		idx := untarInto(t, out, layout)
		if len(idx.Manifests) != 1 {
			t.Fatalf("%s: %d manifests in the OCI tarball", arch, len(idx.Manifests))
		}
		m := idx.Manifests[0]
		m.Annotations = nil
		m.Platform = &ocispec.Platform{OS: "linux", Architecture: arch}
		manifests = append(manifests, m)
	}
	multi := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: manifests}
	multi.SchemaVersion = 2
	dt, _ := json.Marshal(multi)
	d := digest.FromBytes(dt)
	os.WriteFile(filepath.Join(layout, "blobs", "sha256", d.Encoded()), dt, 0644)
	top := ocispec.Index{Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageIndex, Digest: d, Size: int64(len(dt)),
		Annotations: map[string]string{ocispec.AnnotationRefName: "multi", "io.containerd.image.name": "docker.io/library/multi:1"}}}}
	top.SchemaVersion = 2
	dt, _ = json.Marshal(top)
	os.WriteFile(filepath.Join(layout, "index.json"), dt, 0644)
	return layout
}

// TestLoadPlatform: load --platform takes one platform's image out of a
// multi-platform archive, as docker load --platform does.
func TestLoadPlatform(t *testing.T) {
	e := newEnv(t)
	archive := filepath.Join(t.TempDir(), "multi.tar")
	tarDir(t, multiPlatformLayout(t, e), archive)
	if got := e.must("load", "--platform", "linux/arm64", "-i", archive).stdout; got != "Loaded image: multi:1\n" {
		t.Errorf("load --platform printed %q", got)
	}
	if got := e.must("inspect", "--format", "{{.Architecture}}", "multi:1").stdout; got != "arm64\n" {
		t.Errorf("loaded image is for %q; want arm64", got)
	}
	before := e.storeState()
	if r := e.run("load", "--platform", "linux/s390x", "-i", archive); r.code == 0 || !strings.Contains(r.stderr, "does not provide the platform linux/s390x") {
		t.Errorf("load --platform linux/s390x: %s", r)
	}
	if r := e.run("load", "--platform", "not/a/valid/platform", "-i", archive); r.code == 0 || !strings.Contains(r.stderr, "--platform") {
		t.Errorf("load --platform not/a/valid/platform: %s", r)
	}
	if e.storeState() != before {
		t.Error("a refused load changed the store")
	}
}

// tarDir writes dir's files into a tar archive.
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		dt, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0644, Size: int64(len(dt)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(dt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// untarInto extracts an OCI layout tarball's blobs into dir and returns its
// index.
func untarInto(t *testing.T, tarball, dir string) ocispec.Index {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var idx ocispec.Index
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return idx
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case name == "index.json":
			if err := json.NewDecoder(tr).Decode(&idx); err != nil {
				t.Fatal(err)
			}
		case name == "oci-layout" || strings.HasPrefix(name, "blobs/") && h.Typeflag == tar.TypeReg:
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0755)
			dt, _ := io.ReadAll(tr)
			if err := os.WriteFile(p, dt, 0644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
