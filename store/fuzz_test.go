package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FuzzParseName: any input is refused or normalised, and a normalised
// name parses to itself and round-trips through its familiar form.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"hello", "busybox:1.36", "quay.io/a/b:c", "localhost:5000/x", "h", "help", "-",
		"UPPER", "a@sha256:" + strings.Repeat("0", 64), "docker.io/library/x:latest", "x:", ":x", "a//b",
		"docker.io/0.0/0:latest", "docker.io/localhost/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		again, err := ParseName(n)
		if err != nil || again != n {
			t.Fatalf("ParseName(%q) = %q, which parses to %q, %v", s, n, again, err)
		}
		if back, err := ParseName(FamiliarName(n)); err != nil || back != n {
			t.Fatalf("FamiliarName(%q) = %q parses to %q, %v", n, FamiliarName(n), back, err)
		}
		repo, tag := RepoTag(n)
		if back, err := ParseName(repo + ":" + tag); err != nil || back != n {
			t.Fatalf("RepoTag(%q) = %q, %q, which parse to %q, %v", n, repo, tag, back, err)
		}
	})
}

// FuzzDetails: whatever bytes a manifest, index or config blob holds,
// reading an image's details returns an error or a result, never panics.
func FuzzDetails(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:00","size":2},"layers":[]}`), []byte(`{}`), false)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+strings.Repeat("a", 64)+`","size":1}]}`), []byte(`{"rootfs":{"diff_ids":["x"]}}`), true)
	f.Add([]byte(`[]`), []byte(`null`), false)
	// One store for the whole run: opening one costs more than a check.
	s, err := Open(filepath.Join(f.TempDir(), "images"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, manifest, config []byte, index bool) {
		ctx := context.Background()
		cfg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))}
		if _, err := s.WriteJSON(ctx, cfg.MediaType, rawJSON(config)); err != nil {
			return // not JSON: never stored
		}
		mt := ocispec.MediaTypeImageManifest
		if index {
			mt = ocispec.MediaTypeImageIndex
		}
		d, err := s.WriteJSON(ctx, mt, rawJSON(manifest))
		if err != nil {
			return
		}
		s.Details(ctx, d)
		s.Reach(ctx, d)
	})
}

// rawJSON stores bytes as they are when they are JSON at all.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
