package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A new store has nothing to collect, and says so without an error
// (`builder image prune` before any image was stored).
func TestGCEmptyStore(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.GC(context.Background())
	if err != nil {
		t.Fatalf("GC of a new store: %v", err)
	}
	if len(res.Removed) != 0 || res.Bytes != 0 {
		t.Errorf("GC of a new store removed %v (%d bytes)", res.Removed, res.Bytes)
	}
}

// The record of a layer's compressed form goes when the layer does.
func TestGCSweepsTwins(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kept, err := s.WriteJSON(ctx, "application/vnd.oci.image.config.v1+json", map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDangling(ctx, kept); err != nil {
		t.Fatal(err)
	}
	gone := digest.FromString("a layer no longer stored")
	twin := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromString("gz"), Size: 2}
	for _, src := range []digest.Digest{kept.Digest, gone} {
		if err := s.SetTwin(src, twin); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok := s.Twin(kept.Digest); !ok || got.Digest != twin.Digest {
		t.Fatalf("Twin = %v, %v", got, ok)
	}
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Twin(kept.Digest); !ok {
		t.Error("GC dropped the record of a stored blob")
	}
	if _, ok := s.Twin(gone); ok {
		t.Error("GC kept the record of a blob that is not stored")
	}
}

// A leased image keeps its blobs when its last name goes, and loses them
// once the lease is released (a container's image after rmi -f, then rm).
func TestGCKeepsLeased(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg, err := s.WriteJSON(ctx, ocispec.MediaTypeImageConfig, map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg}
	m.SchemaVersion = 2
	target, err := s.WriteJSON(ctx, ocispec.MediaTypeImageManifest, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "docker.io/library/x:latest", target); err != nil {
		t.Fatal(err)
	}
	if err := s.Lease(ctx, "c1", target); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(ctx, target.Digest); err != nil {
		t.Fatal(err)
	}
	if res, err := s.GC(ctx); err != nil || len(res.Removed) != 0 {
		t.Fatalf("GC with a lease removed %v (%v)", res.Removed, err)
	}
	leases, err := s.Leases(ctx)
	if err != nil || len(Holders(leases, target)) != 1 {
		t.Fatalf("holders of the leased image: %v (%v)", leases, err)
	}
	if err := s.Release(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if res, err := s.GC(ctx); err != nil || len(res.Removed) != 2 {
		t.Fatalf("GC after release removed %v, want the manifest and config (%v)", res.Removed, err)
	}
}

// Dropping abandoned ingests keeps the ingest directory: a writer that
// starts after another finished in the same process (push -a, one tag
// after another) writes a new ingest there.
func TestWriterAfterIngestsDropped(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := content.OpenWriter(ctx, s.Content(), content.WithRef("abandoned"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("half"))
	w.Close()
	for i := 0; i < 2; i++ {
		done, err := s.Writing(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteJSON(ctx, "application/vnd.oci.image.config.v1+json", map[string]int{"n": i}); err != nil {
			t.Fatalf("writer %d after the ingests were dropped: %v", i, err)
		}
		done()
	}
	if ents, _ := os.ReadDir(filepath.Join(s.dir, "ingest")); len(ents) != 0 {
		t.Errorf("%d ingests left", len(ents))
	}
}
