//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// rawManifest is what skopeo inspect --raw says of ref.
func rawManifest(t *testing.T, ref string) ocispec.Index {
	t.Helper()
	raw, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+ref).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw %s: %v", ref, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatalf("skopeo inspect --raw %s: %v\n%s", ref, err, raw)
	}
	return idx
}

// attestations counts an index's attestation manifests, as buildx marks
// them (platform unknown/unknown, vnd.docker.reference.type).
func attestations(idx ocispec.Index) int {
	n := 0
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" && m.Platform != nil && m.Platform.OS == "unknown" {
			n++
		}
	}
	return n
}

// TestProvenance: buildx's defaults (min provenance on a pushed image, none
// with --provenance=false or BUILDX_NO_DEFAULT_ATTESTATIONS), attestations
// kept in the image's index by the store, push, save and load, hidden from
// images, removed with the image; the predicate in --metadata-file.
func TestProvenance(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo p > /p\n"})

	pushed := s.registry + "/prov/default:1"
	md := filepath.Join(t.TempDir(), "md.json")
	id := strings.TrimSpace(e.must("build", "-q", "--metadata-file", md, "--push", "-t", pushed, dir).stdout)
	if n := attestations(rawManifest(t, pushed)); n != 1 {
		t.Errorf("build --push: %d attestation manifests; want buildx's default min provenance", n)
	}
	validateRemote(t, "push with provenance", pushed)
	// The store keeps its own copy (uncompressed layers, so other
	// manifests) under the name, usable as any built image; the metadata
	// names what was pushed.
	if got := e.must("images", "-q", "--no-trunc", pushed).stdout; id == "" || got != id+"\n" {
		t.Errorf("build -q --push printed %q; images -q lists %q", id, got)
	}
	if got := e.must("run", "--rm", pushed, "cat", "/p").stdout; got != "p\n" {
		t.Errorf("run of the pushed tag printed %q", got)
	}
	e.must("inspect", pushed)
	var meta map[string]any
	dt, _ := os.ReadFile(md)
	json.Unmarshal(dt, &meta)
	if d, _ := meta["containerimage.digest"].(string); d == "" || d != pushedDigest(t, pushed) {
		t.Errorf("--metadata-file names %q, not the pushed image's digest", d)
	}
	off := s.registry + "/prov/off:1"
	e.must("build", "--push", "--provenance=false", "-t", off, dir)
	if idx := rawManifest(t, off); idx.MediaType != ocispec.MediaTypeImageManifest {
		t.Errorf("--provenance=false: pushed %s; want a plain image manifest", idx.MediaType)
	}
	cmd := e.cmd(t.Context(), "build", "--push", "-t", off, dir)
	cmd.Env = append(cmd.Env, "BUILDX_NO_DEFAULT_ATTESTATIONS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := attestations(rawManifest(t, off)); n != 0 {
		t.Errorf("BUILDX_NO_DEFAULT_ATTESTATIONS=1: %d attestations", n)
	}

	// Into the store when asked, in either flag's spelling.
	e = newEnv(t)
	for _, flag := range [][]string{{"--provenance", "mode=max"}, {"--attest", "type=provenance,mode=max"}} {
		md := filepath.Join(t.TempDir(), "md.json")
		e.must(append(append([]string{"build", "--metadata-file", md, "-t", "prov"}, flag...), dir)...)
		dt, _ := os.ReadFile(md)
		var meta map[string]json.RawMessage
		json.Unmarshal(dt, &meta)
		var pred struct { // SLSA provenance v1, BuildKit's default
			BuildDefinition struct {
				BuildType string `json:"buildType"`
			} `json:"buildDefinition"`
		}
		if err := json.Unmarshal(meta["buildx.build.provenance"], &pred); err != nil || pred.BuildDefinition.BuildType == "" {
			t.Errorf("%v: buildx.build.provenance = %s", flag, meta["buildx.build.provenance"])
		}
	}
	// (The first build's image lost its name to the second.)
	if out := e.must("images", "--filter", "dangling=false", "--format", "{{.Repository}}:{{.Tag}}").stdout; out != "prov:latest\n" {
		t.Errorf("images: %q; want the image alone, its attestation hidden", out)
	}
	e.must("run", "--rm", "prov", "cat", "/p")
	ref := s.registry + "/prov/stored:1"
	e.must("tag", "prov", ref)
	e.must("push", ref)
	if n := attestations(rawManifest(t, ref)); n != 1 {
		t.Errorf("push of a stored image with provenance: %d attestations", n)
	}
	validateRemote(t, "push of a stored attested image", ref)
	archive := filepath.Join(t.TempDir(), "p.tar")
	e.must("save", "-o", archive, "prov")
	validateTarball(t, "save of an attested image", archive)
	other := newEnv(t)
	other.must("load", "-i", archive)
	// The loaded image still carries it: push it from there.
	ref2 := s.registry + "/prov/loaded:1"
	other.must("tag", "prov", ref2)
	other.must("push", ref2)
	if n := attestations(rawManifest(t, ref2)); n != 1 {
		t.Errorf("saved, loaded and pushed: %d attestations", n)
	}
	blobs := func() int {
		ents, _ := os.ReadDir(filepath.Join(e.root, "images", "blobs", "sha256"))
		return len(ents)
	}
	e.must("rmi", "prov", ref)
	e.must("image", "prune", "-f")
	if n := blobs(); n != 0 {
		t.Errorf("rmi left %d blobs (the attestation's?)", n)
	}

	before := e.storeState()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--provenance", "mode=all"}, `mode="all": want min or max`},
		{[]string{"--attest", "type=nosuch"}, `unknown attestation type "nosuch"`},
		{[]string{"--attest", "mode=max"}, "type=provenance or type=sbom is required"},
		{[]string{"--sbom", "generator=UP PER"}, "generator="},
		{[]string{"--sbom=true"}, "buildkit-syft-scanner"},
	} {
		r := e.run(append(append([]string{"build", "-t", "bad"}, c.args...), dir)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: want a failure saying %q; got %s", c.args, c.want, r)
		}
	}
	if e.storeState() != before {
		t.Errorf("failed builds changed the store")
	}
}

// TestProvenanceMultiPlatform: a two-platform push carries each
// platform's image and its attestation.
func TestProvenanceMultiPlatform(t *testing.T) {
	needEmulation(t)
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox-multi\nRUN uname -m > /arch\n"})
	ref := s.registry + "/prov/multi:1"
	e.must("build", "--platform", "linux/amd64,linux/arm64", "--push", "-t", ref, dir)
	idx := rawManifest(t, ref)
	if got := indexPlatforms(idx); got != "linux/amd64 linux/arm64" || attestations(idx) != 2 {
		t.Errorf("pushed: platforms %q, %d attestations; want both platforms, one attestation each", got, attestations(idx))
	}
	validateRemote(t, "multi-platform push with provenance", ref)
}

// pushedDigest is the digest the registry serves for ref (crane digest).
func pushedDigest(t *testing.T, ref string) string {
	t.Helper()
	out, err := crane(t, "digest", ref)
	if err != nil {
		t.Fatalf("crane digest %s: %v\n%s", ref, err, out)
	}
	return strings.TrimSpace(out)
}
