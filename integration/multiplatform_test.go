//go:build integration

package integration

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
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
	if pushed := rawManifest(t, single); pushed.MediaType != ocispec.MediaTypeImageManifest {
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
		// One image manifest each: no attestation (an OCI archive gets
		// one by default, as with buildx).
		e.must("build", "--platform", "linux/"+arch, "--provenance=false", "-o", "type=oci,dest="+out, dir)
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

// needEmulation fails the test where scripts/emulation.sh has not run.
func needEmulation(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(arm64Busybox); err != nil {
		t.Fatalf("no arm64 busybox (%v): run scripts/emulation.sh", err)
	}
	if dt, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err != nil || !strings.HasPrefix(string(dt), "enabled") {
		t.Fatalf("no arm64 emulator registered with binfmt_misc: run scripts/emulation.sh")
	}
}

// TestMultiPlatformBuild: one build for two platforms makes one image
// index in the store, shown as one image, with each platform reachable by
// --platform, run under emulation, pushed, saved and loaded whole.
func TestMultiPlatformBuild(t *testing.T) {
	needEmulation(t)
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": `FROM --platform=$BUILDPLATFORM busybox-multi AS build
ARG TARGETPLATFORM TARGETARCH BUILDPLATFORM
RUN echo "$BUILDPLATFORM -> $TARGETPLATFORM ($TARGETARCH) on $(uname -m)" > /cross
FROM busybox-multi
COPY --from=build /cross /cross
RUN uname -m > /arch
`})
	e.must("build", "--platform", "linux/amd64,linux/arm64", "-t", "multi", dir)
	if out := e.must("images", "--format", "{{.Repository}}:{{.Tag}}").stdout; out != "multi:latest\n" {
		t.Errorf("images: %q; want one row", out)
	}
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{.Architecture}}", "multi").stdout); got != runtime.GOARCH {
		t.Errorf("inspect: %s; want this machine's %s", got, runtime.GOARCH)
	}
	if got := strings.TrimSpace(e.must("inspect", "--platform", "linux/arm64", "--format", "{{.Architecture}}", "multi").stdout); got != "arm64" {
		t.Errorf("inspect --platform linux/arm64: %s", got)
	}
	if out := e.must("history", "--platform", "linux/arm64", "--no-trunc", "multi").stdout; !strings.Contains(out, "uname -m") {
		t.Errorf("history --platform linux/arm64:\n%s", out)
	}
	for _, c := range []struct{ platform, arch, cross string }{
		{"", "x86_64", "linux/amd64 -> linux/amd64 (amd64) on x86_64"},
		{"linux/arm64", "aarch64", "linux/amd64 -> linux/arm64 (arm64) on x86_64"},
	} {
		args := []string{"run", "--rm"}
		if c.platform != "" {
			args = append(args, "--platform", c.platform)
		}
		if got := strings.TrimSpace(e.must(append(args, "multi", "uname", "-m")...).stdout); got != c.arch {
			t.Errorf("run %s uname -m: %q, want %q", c.platform, got, c.arch)
		}
		if got := strings.TrimSpace(e.must(append(args, "multi", "cat", "/arch", "/cross")...).stdout); got != c.arch+"\n"+c.cross {
			t.Errorf("run %s: built /arch and /cross = %q; want %q", c.platform, got, c.arch+"\n"+c.cross)
		}
	}
	if r := e.run("inspect", "--platform", "linux/s390x", "multi"); r.code == 0 || !strings.Contains(r.stderr, "does not provide the specified platform (linux/s390x)") {
		t.Errorf("inspect --platform linux/s390x: %s", r)
	}
	if r := e.run("run", "--rm", "--platform", "linux/s390x", "multi", "true"); r.code != 125 || !strings.Contains(r.stderr, "linux/s390x") {
		t.Errorf("run --platform linux/s390x: %s", r)
	}

	// push sends the index with both platforms.
	ref := s.registry + "/test/multibuild:1"
	e.must("tag", "multi", ref)
	e.must("push", ref)
	if got := indexPlatforms(rawManifest(t, ref)); got != "linux/amd64 linux/arm64" {
		t.Errorf("pushed index platforms: %q", got)
	}
	validateRemote(t, "multi-platform push", ref)

	// save and load keep every platform; save --platform one.
	all := filepath.Join(t.TempDir(), "all.tar")
	e.must("save", "-o", all, "multi")
	validateTarball(t, "multi-platform save", all)
	other := newEnv(t)
	other.must("load", "-i", all)
	if got := strings.TrimSpace(other.must("run", "--rm", "--platform", "linux/arm64", "multi", "cat", "/arch").stdout); got != "aarch64" {
		t.Errorf("loaded, run --platform linux/arm64: %q", got)
	}
	one := filepath.Join(t.TempDir(), "one.tar")
	e.must("save", "--platform", "linux/arm64", "-o", one, "multi")
	third := newEnv(t)
	third.must("load", "-i", one)
	if got := strings.TrimSpace(third.must("inspect", "--platform", "linux/arm64", "--format", "{{.Architecture}}", "multi").stdout); got != "arm64" {
		t.Errorf("save --platform linux/arm64, loaded: %s", got)
	}

	// -o type=local writes a directory per platform, as buildx does.
	local := t.TempDir()
	e.must("build", "--platform", "linux/amd64,linux/arm64", "-o", "type=local,dest="+local, dir)
	for p, want := range map[string]string{"linux_amd64": "x86_64\n", "linux_arm64": "aarch64\n"} {
		if got := readOut(t, filepath.Join(local, p), "arch"); got != want {
			t.Errorf("-o type=local: %s/arch = %q, want %q", p, got, want)
		}
	}
	// -o type=docker holds the index too (BuildKit's docker exporter
	// refuses one), with docker's manifest.json for this machine's image.
	docker := filepath.Join(t.TempDir(), "multi-docker.tar")
	e.must("build", "--platform", "linux/amd64,linux/arm64", "-t", "multi-docker", "-o", "type=docker,dest="+docker, dir)
	validateTarball(t, "multi-platform -o type=docker", docker)
	fourth := newEnv(t)
	fourth.must("load", "-i", docker)
	if got := strings.TrimSpace(fourth.must("run", "--rm", "--platform", "linux/arm64", "multi-docker", "cat", "/arch").stdout); got != "aarch64" {
		t.Errorf("-o type=docker, loaded, run --platform linux/arm64: %q", got)
	}
	failing := writeContext(t, map[string]string{"Dockerfile": "FROM busybox-multi\nRUN false\n"})
	if r := e.run("build", "--platform", "linux/amd64,linux/arm64", "-o", "type=docker,dest="+docker+".failed", failing); r.code == 0 {
		t.Errorf("a failing two-platform build succeeded: %s", r)
	}
	if _, err := os.Stat(docker + ".failed"); err == nil {
		t.Errorf("a failing two-platform build wrote its -o type=docker destination")
	}
	// -o type=oci holds the index.
	oci := filepath.Join(t.TempDir(), "multi-oci.tar")
	e.must("build", "--platform", "linux/amd64,linux/arm64", "-o", "type=oci,dest="+oci, dir)
	validateLayout(t, "multi-platform -o type=oci", oci, s.registry+"/test/multi-oci:1")
	e.must("rmi", "multi", ref)
	if out := e.must("images", "-q").stdout; out != "" {
		t.Errorf("after rmi: images -q = %q", out)
	}
}

// indexPlatforms lists an index's image platforms (attestations aside).
func indexPlatforms(idx ocispec.Index) string {
	var ps []string
	for _, m := range idx.Manifests {
		if m.Platform != nil && m.Platform.OS != "unknown" {
			ps = append(ps, m.Platform.OS+"/"+m.Platform.Architecture)
		}
	}
	sort.Strings(ps)
	return strings.Join(ps, " ")
}

// TestNoEmulator: where a platform has no emulator, a RUN in its stage
// fails saying which platform and how to get one; a COPY-only build for
// it needs none.
func TestNoEmulator(t *testing.T) {
	needEmulation(t)
	const entry = "/proc/sys/fs/binfmt_misc/qemu-aarch64"
	if err := os.WriteFile(entry, []byte("0"), 0644); err != nil {
		t.Fatalf("disable the arm64 emulator: %v", err)
	}
	t.Cleanup(func() { os.WriteFile(entry, []byte("1"), 0644) })
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox-multi\nRUN uname -m\n"})
	r := e.run("build", "--platform", "linux/arm64", dir)
	if r.code == 0 || !strings.Contains(r.stderr, "this machine cannot run linux/arm64 programs") || !strings.Contains(r.stderr, "qemu-user-static") {
		t.Errorf("RUN without an emulator: %s", r)
	}
	copyOnly := writeContext(t, map[string]string{"Dockerfile": "FROM busybox-multi\nCOPY f /f\n", "f": "x"})
	e.must("build", "--platform", "linux/arm64", "-t", "arm-only", copyOnly)
}

// TestForeignPlatformsOnly: an index with none of this machine's
// platforms (a COPY-only build needs no emulator) is listed, inspected,
// given an ID by -q and removed like any image, as docker's containerd
// store shows one.
func TestForeignPlatformsOnly(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x\n"})
	id := strings.TrimSpace(e.must("build", "-q", "--platform", "linux/arm64,linux/s390x", "-t", "foreign", dir).stdout)
	if listed := strings.TrimSpace(e.must("images", "-q", "--no-trunc").stdout); id == "" || listed != id {
		t.Errorf("build -q printed %q; images -q --no-trunc %q", id, listed)
	}
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{.Architecture}}", "foreign").stdout); got != "arm64" {
		t.Errorf("inspect: %s; want the first platform's image", got)
	}
	if got := strings.TrimSpace(e.must("inspect", "--platform", "linux/s390x", "--format", "{{.Architecture}}", "foreign").stdout); got != "s390x" {
		t.Errorf("inspect --platform linux/s390x: %s", got)
	}
	e.must("history", "foreign")
	e.must("rmi", "foreign")
	if out := e.must("images", "-q").stdout; out != "" {
		t.Errorf("after rmi: %q", out)
	}
}
