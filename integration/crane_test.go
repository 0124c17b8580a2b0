//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// crane runs go-containerregistry's crane (`make crane`), the library
// behind many scanners and ko, against the suite's plain-HTTP registry.
func crane(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(repoDir(t), "bin", "crane")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("crane: %v (run `make crane`)", err)
	}
	out, err := exec.Command(bin, append(args, "--insecure")...).CombinedOutput()
	return string(out), err
}

// validateTarball is `crane validate --tarball`.
func validateTarball(t *testing.T, what, path string) {
	t.Helper()
	if out, err := crane(t, "validate", "--tarball", path); err != nil {
		t.Errorf("%s: crane validate --tarball: %v\n%s", what, err, out)
	}
}

// validateLayout pushes an OCI archive's layout with crane and validates
// what crane pushed: go-containerregistry reads the layout, every blob.
func validateLayout(t *testing.T, what, archive, ref string) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", archive, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("%s: untar: %v\n%s", what, err, out)
	}
	if out, err := crane(t, "push", dir, ref); err != nil {
		t.Errorf("%s: crane push of the layout: %v\n%s", what, err, out)
		return
	}
	validateRemote(t, what, ref)
}

// validateRemote is `crane validate --remote`. An index with attestations
// is validated image by image: crane takes an attestation manifest (an
// in-toto config, no rootfs) for a broken image, as it does on any image
// buildx pushes with provenance.
func validateRemote(t *testing.T, what, ref string) {
	t.Helper()
	refs := []string{ref}
	if idx := rawManifest(t, ref); attestations(idx) > 0 {
		repo := ref[:strings.LastIndex(ref, ":")]
		refs = refs[:0]
		for _, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.OS != "unknown" {
				refs = append(refs, repo+"@"+m.Digest.String())
			}
		}
		if len(refs) == 0 {
			t.Errorf("%s: no image in %s's index", what, ref)
		}
	}
	for _, r := range refs {
		if out, err := crane(t, "validate", "--remote", r); err != nil {
			t.Errorf("%s: crane validate --remote %s: %v\n%s", what, r, err, out)
		}
	}
}

// TestArchivesReadByCrane: every archive builder writes of an image built
// FROM a pulled base (a gzip base layer under layers built here) is one
// go-containerregistry reads, as skopeo and docker do; so is every push.
func TestArchivesReadByCrane(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /f\nRUN echo built > /built\n", "f": "x\n"})
	e.must("build", "-t", "v", dir)
	tmp := t.TempDir()

	saved := filepath.Join(tmp, "v.tar")
	e.must("save", "-o", saved, "v")
	validateTarball(t, "save", saved)
	oci := filepath.Join(tmp, "v-oci.tar")
	e.must("save", "--format", "oci", "-o", oci, "v")
	validateLayout(t, "save --format oci", oci, s.registry+"/crane/save-oci:1")

	docker := filepath.Join(tmp, "o-docker.tar")
	e.must("build", "-o", "type=docker,dest="+docker, dir)
	validateTarball(t, "-o type=docker", docker)
	ociOut := filepath.Join(tmp, "o-oci.tar")
	e.must("build", "-o", "type=oci,dest="+ociOut, dir)
	validateLayout(t, "-o type=oci", ociOut, s.registry+"/crane/o-oci:1")

	ref := s.registry + "/crane/pushed:1"
	e.must("tag", "v", ref)
	e.must("push", ref)
	validateRemote(t, "push", ref)
	ref2 := s.registry + "/crane/build-push:1"
	e.must("build", "--push", "-t", ref2, dir)
	validateRemote(t, "build --push", ref2)

	// What the archive holds still loads as the same image, here and into
	// docker where one runs.
	other := newEnv(t)
	other.must("load", "-i", saved)
	id := strings.TrimSpace(e.must("inspect", "--format", "{{.Id}}", "v").stdout)
	if got := strings.TrimSpace(other.must("inspect", "--format", "{{.Id}}", "v").stdout); got != id {
		t.Errorf("saved and loaded: image ID %s, want %s", got, id)
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Logf("SKIP: docker load of the archive: no Docker Engine (%s)", strings.TrimSpace(string(out)))
		return
	}
	if out, err := exec.Command("docker", "load", "-i", saved).CombinedOutput(); err != nil {
		t.Errorf("docker load: %v\n%s", err, out)
	}
	exec.Command("docker", "rmi", "v").Run()
}
