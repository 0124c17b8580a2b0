package image

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// memStore is an in-memory CompressStore. Its "compression" prefixes the
// bytes: what push does with the result is under test, not gzip.
type memStore struct {
	blobs      map[digest.Digest][]byte
	twins      map[digest.Digest]ocispec.Descriptor
	compressed int
}

func newMemStore() *memStore {
	return &memStore{blobs: map[digest.Digest][]byte{}, twins: map[digest.Digest]ocispec.Descriptor{}}
}

func (m *memStore) put(mediaType string, dt []byte) ocispec.Descriptor {
	d := digest.FromBytes(dt)
	m.blobs[d] = dt
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(dt))}
}

func (m *memStore) ReaderAt(ctx context.Context, d ocispec.Descriptor) (content.ReaderAt, error) {
	dt, ok := m.blobs[d.Digest]
	if !ok {
		return nil, errdefs.ErrNotFound
	}
	return readerAt{bytes.NewReader(dt)}, nil
}

type readerAt struct{ *bytes.Reader }

func (readerAt) Close() error  { return nil }
func (r readerAt) Size() int64 { return r.Reader.Size() }

func (m *memStore) WriteJSON(ctx context.Context, mediaType string, v any) (ocispec.Descriptor, error) {
	dt, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return m.put(mediaType, dt), nil
}

func (m *memStore) ReadJSON(ctx context.Context, d ocispec.Descriptor, v any) error {
	dt, ok := m.blobs[d.Digest]
	if !ok {
		return errdefs.ErrNotFound
	}
	return json.Unmarshal(dt, v)
}

func (m *memStore) CompressLayer(ctx context.Context, r io.Reader) (ocispec.Descriptor, error) {
	dt, err := io.ReadAll(r)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m.compressed++
	return m.put(ocispec.MediaTypeImageLayerGzip, append([]byte("gz:"), dt...)), nil
}

func (m *memStore) Twin(src digest.Digest) (ocispec.Descriptor, bool) {
	d, ok := m.twins[src]
	return d, ok
}

func (m *memStore) SetTwin(src digest.Digest, twin ocispec.Descriptor) error {
	m.twins[src] = twin
	return nil
}

func (m *memStore) ForgetTwin(src digest.Digest) { delete(m.twins, src) }

func (m *memStore) manifest(t *testing.T, layers ...ocispec.Descriptor) ocispec.Descriptor {
	cfg := m.put(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux"}`))
	d, err := m.WriteJSON(context.Background(), ocispec.MediaTypeImageManifest,
		ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: layers})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A built image's uncompressed layer is compressed on the way out and its
// manifest rewritten; a compressed layer goes as stored; the stored image
// is left as it was; a second push reuses the recorded compressed form.
func TestCompressedCompressesUncompressedLayers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMemStore()
	raw := m.put(ocispec.MediaTypeImageLayer, []byte("tar bytes"))
	gz := m.put(ocispec.MediaTypeImageLayerGzip, []byte("already gzip"))
	target := m.manifest(t, gz, raw)
	stored := string(m.blobs[target.Digest])

	sources := map[digest.Digest]ocispec.Descriptor{}
	out, err := Compressed(ctx, m, target, sources)
	if err != nil {
		t.Fatal(err)
	}
	if out.Digest == target.Digest {
		t.Fatal("the manifest was not rewritten")
	}
	var man ocispec.Manifest
	m.ReadJSON(ctx, out, &man)
	if man.Layers[0].Digest != gz.Digest {
		t.Errorf("a compressed layer was changed: %v", man.Layers[0])
	}
	if l := man.Layers[1]; l.MediaType != ocispec.MediaTypeImageLayerGzip || string(m.blobs[l.Digest]) != "gz:tar bytes" {
		t.Errorf("the uncompressed layer went out as %v", l)
	}
	if string(m.blobs[target.Digest]) != stored {
		t.Error("the stored manifest changed")
	}
	if tw, ok := m.Twin(raw.Digest); !ok || tw.Digest != man.Layers[1].Digest {
		t.Errorf("the compressed form was not recorded: %v %v", tw, ok)
	}

	// Again: named by the recorded form, compressed only if asked for.
	again, err := Compressed(ctx, m, target, sources)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != out.Digest || m.compressed != 1 {
		t.Errorf("second push: %s (first %s), %d compressions", again.Digest, out.Digest, m.compressed)
	}
	if sources[man.Layers[1].Digest].Digest != raw.Digest {
		t.Errorf("the provider cannot recompress the recorded form: %v", sources)
	}
	// The compressed blob is gone (pruned): the provider makes it again,
	// to the same digest.
	delete(m.blobs, man.Layers[1].Digest)
	ra, err := CompressedProvider{Store: m, Sources: sources}.ReaderAt(ctx, man.Layers[1])
	if err != nil {
		t.Fatalf("recompress on demand: %v", err)
	}
	ra.Close()
}

// An image of compressed layers only goes as stored.
func TestCompressedLeavesCompressedImages(t *testing.T) {
	t.Parallel()
	m := newMemStore()
	target := m.manifest(t, m.put(ocispec.MediaTypeImageLayerGzip, []byte("gzip")))
	out, err := Compressed(context.Background(), m, target, map[digest.Digest]ocispec.Descriptor{})
	if err != nil || out.Digest != target.Digest || m.compressed != 0 {
		t.Errorf("pushable = %v, %v; %d compressions", out.Digest, err, m.compressed)
	}
}

// A pulled multi-platform image keeps one platform: it is pushed as that
// platform's image, as docker pushes what its store holds.
func TestCompressedPartialIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMemStore()
	amd := m.manifest(t, m.put(ocispec.MediaTypeImageLayerGzip, []byte("amd64")))
	amd.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("not stored"), Size: 10,
		Platform: &ocispec.Platform{OS: "linux", Architecture: "arm64"}}
	idx, _ := m.WriteJSON(ctx, ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, arm}})
	out, err := Compressed(ctx, m, idx, map[digest.Digest]ocispec.Descriptor{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Digest != amd.Digest {
		t.Errorf("pushed %s; want the stored platform's manifest %s", out.Digest, amd.Digest)
	}
	// Nothing of it stored: an error, not an empty index.
	none, _ := m.WriteJSON(ctx, ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{arm}})
	if _, err := Compressed(ctx, m, none, map[digest.Digest]ocispec.Descriptor{}); err == nil {
		t.Error("an index with no stored manifest was pushable")
	}
}
