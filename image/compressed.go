package image

import (
	"context"
	"fmt"
	"io"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CompressStore is what compressing an image on its way out of the store
// needs: blobs to read (containerd's content.Provider) and JSON documents to
// write, its one layer compressor, and the record of each layer's
// compressed form. *store.Store is one; the tests use an in-memory one.
type CompressStore interface {
	content.Provider
	store.JSONStore
	CompressLayer(ctx context.Context, tarStream io.Reader) (ocispec.Descriptor, error)
	Twin(src digest.Digest) (ocispec.Descriptor, bool)
	SetTwin(src digest.Digest, twin ocispec.Descriptor) error
	ForgetTwin(src digest.Digest)
}

// gzipTypes maps the uncompressed layer media types to their gzip twins.
var gzipTypes = map[string]string{
	ocispec.MediaTypeImageLayer:        ocispec.MediaTypeImageLayerGzip,
	images.MediaTypeDockerSchema2Layer: images.MediaTypeDockerSchema2LayerGzip,
}

// Compressed returns target as it leaves the store, for a push or an
// archive. Builds store their layers uncompressed, as docker's own store
// does; like docker push, these are gzip-compressed on the way out (tools
// built on go-containerregistry read no other kind from a registry or an
// OCI layout), and the manifests (and index) that name them are rewritten
// to match. Every other blob goes as stored, so pulled, loaded and imported
// images leave byte for byte. A layer compressed before is named by the
// compressed form recorded then, without compressing it again: sources maps
// such forms to their layers, for CompressedProvider to compress them only
// if they are asked for. New blobs land in the store, unreferenced (the
// caller holds the store's GC lock until they are used); the stored image
// is unchanged.
//
// containerd's converter.DefaultIndexConvertFunc does the rewriting too, but
// it computes every layer's diff ID, decompressing each already-compressed
// layer of the image once more every time.
func Compressed(ctx context.Context, st CompressStore, target ocispec.Descriptor, sources map[digest.Digest]ocispec.Descriptor) (ocispec.Descriptor, error) {
	switch target.MediaType {
	case ocispec.MediaTypeImageManifest, images.MediaTypeDockerSchema2Manifest:
		var m ocispec.Manifest
		if err := st.ReadJSON(ctx, target, &m); err != nil {
			return target, err
		}
		changed := false
		for i, l := range m.Layers {
			if _, ok := gzipTypes[l.MediaType]; !ok {
				continue
			}
			if tw, ok := st.Twin(l.Digest); ok && tw.MediaType == gzipTypes[l.MediaType] {
				sources[tw.Digest] = l
				m.Layers[i].MediaType, m.Layers[i].Digest, m.Layers[i].Size = tw.MediaType, tw.Digest, tw.Size
				changed = true
				continue
			}
			gz, err := compressLayer(ctx, st, l)
			if err != nil {
				return target, err
			}
			if err := st.SetTwin(l.Digest, gz); err != nil {
				return target, err
			}
			m.Layers[i], changed = gz, true
		}
		if !changed {
			return target, nil
		}
		return rewrite(ctx, st, target, m)
	case ocispec.MediaTypeImageIndex, images.MediaTypeDockerSchema2ManifestList:
		var idx ocispec.Index
		if err := st.ReadJSON(ctx, target, &idx); err != nil {
			return target, err
		}
		changed := false
		var stored []ocispec.Descriptor
		for _, d := range idx.Manifests {
			nd, err := Compressed(ctx, st, d, sources)
			if cerrdefs.IsNotFound(err) {
				// A pull keeps only this machine's platform of an index.
				changed = true
				continue
			}
			if err != nil {
				return target, err
			}
			changed = changed || nd.Digest != d.Digest
			stored = append(stored, nd)
		}
		switch {
		case !changed:
			return target, nil
		case len(stored) == 0:
			return target, fmt.Errorf("none of the manifests of %s is stored", target.Digest)
		case len(stored) == 1 && len(stored) < len(idx.Manifests):
			// What is stored is one platform's image: it is pushed as
			// that image, as docker's own store pushes a pulled
			// multi-platform image.
			return stored[0], nil
		}
		idx.Manifests = stored
		return rewrite(ctx, st, target, idx)
	}
	return target, nil
}

// CompressedProvider serves blobs from the store, compressing a recorded
// compressed form again when the store no longer has it and its content is
// asked for (by a registry that lacks it, or an archive).
type CompressedProvider struct {
	Store   CompressStore
	Sources map[digest.Digest]ocispec.Descriptor
}

func (p CompressedProvider) ReaderAt(ctx context.Context, d ocispec.Descriptor) (content.ReaderAt, error) {
	ra, err := p.Store.ReaderAt(ctx, d)
	src, ok := p.Sources[d.Digest]
	if !ok || !cerrdefs.IsNotFound(err) {
		return ra, err
	}
	gz, err := compressLayer(ctx, p.Store, src)
	if err != nil {
		return nil, err
	}
	if gz.Digest != d.Digest {
		// Only a different compressor could do this; the manifest being
		// pushed names the old form, so start over with the new one.
		p.Store.ForgetTwin(src.Digest)
		return nil, fmt.Errorf("layer %s now compresses to %s, not %s as recorded: push again", src.Digest, gz.Digest, d.Digest)
	}
	return p.Store.ReaderAt(ctx, d)
}

// compressLayer writes l's gzip-compressed twin into the store, with the
// store's one gzip layer writer (the one import and commit write with), so
// that a layer compresses to the same digest whoever compresses it.
func compressLayer(ctx context.Context, st CompressStore, l ocispec.Descriptor) (ocispec.Descriptor, error) {
	ra, err := st.ReaderAt(ctx, l)
	if err != nil {
		return l, fmt.Errorf("read layer %s: %w", l.Digest, err)
	}
	defer ra.Close()
	gz, err := st.CompressLayer(ctx, content.NewReader(ra))
	if err != nil {
		return l, fmt.Errorf("compress layer %s: %w", l.Digest, err)
	}
	out := l
	out.MediaType = gzipTypes[l.MediaType]
	out.Digest, out.Size = gz.Digest, gz.Size
	return out, nil
}

// rewrite stores v as the new content of the manifest or index d, keeping
// the rest of d's descriptor (platform, annotations).
func rewrite(ctx context.Context, st store.JSONStore, d ocispec.Descriptor, v any) (ocispec.Descriptor, error) {
	nd, err := st.WriteJSON(ctx, d.MediaType, v)
	if err != nil {
		return d, err
	}
	d.Digest, d.Size = nd.Digest, nd.Size
	return d, nil
}
