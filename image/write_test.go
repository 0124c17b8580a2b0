package image

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// memWriter is an in-memory blob store behind the JSONWriter interface.
type memWriter struct {
	blobs map[digest.Digest][]byte
	fail  string // a media type whose write fails
}

func (m *memWriter) WriteJSON(ctx context.Context, mediaType string, v any) (ocispec.Descriptor, error) {
	if mediaType == m.fail {
		return ocispec.Descriptor{}, errors.New("disk full")
	}
	dt, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := digest.FromBytes(dt)
	m.blobs[d] = dt
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(dt))}, nil
}

func TestWrite(t *testing.T) {
	t.Parallel()
	m := &memWriter{blobs: map[digest.Digest][]byte{}}
	layer := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromString("layer"), Size: 5}
	plat := ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	cfg := ocispec.Image{Platform: plat, RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("diff")}}}
	target, configDesc, err := Write(context.Background(), m, cfg, plat, []ocispec.Descriptor{layer})
	if err != nil {
		t.Fatal(err)
	}
	if target.MediaType != ocispec.MediaTypeImageManifest || target.Platform == nil || target.Platform.Architecture != "arm64" || target.Platform.Variant != "v8" {
		t.Errorf("target %+v", target)
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(m.blobs[target.Digest], &man); err != nil {
		t.Fatal(err)
	}
	if man.SchemaVersion != 2 || man.Config.Digest != configDesc.Digest || man.Config.MediaType != ocispec.MediaTypeImageConfig ||
		len(man.Layers) != 1 || man.Layers[0].Digest != layer.Digest {
		t.Errorf("manifest %+v", man)
	}
	// An image of no layers still lists "layers": [] (the spec requires it).
	target, _, _ = Write(context.Background(), m, cfg, plat, nil)
	var raw map[string]json.RawMessage
	json.Unmarshal(m.blobs[target.Digest], &raw)
	if string(raw["layers"]) != "[]" {
		t.Errorf("layers of an empty image: %s", raw["layers"])
	}
}

// A failed write says which part failed.
func TestWriteFails(t *testing.T) {
	t.Parallel()
	for _, mt := range []string{ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageManifest} {
		m := &memWriter{blobs: map[digest.Digest][]byte{}, fail: mt}
		if _, _, err := Write(context.Background(), m, ocispec.Image{}, ocispec.Platform{}, nil); err == nil {
			t.Errorf("a failing %s write succeeded", mt)
		}
	}
}
