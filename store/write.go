package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/builder-dev/builder/internal/layergzip"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// WriteLayer stores an uncompressed layer tar stream as a gzip blob (see
// CompressLayer) and returns its descriptor and diff ID (the digest of the
// uncompressed tar), which an image made here (import, commit) records.
// Hold Writing while the blob is not yet named in the index.
func (s *Store) WriteLayer(ctx context.Context, tarStream io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	diffID := digest.Canonical.Digester()
	desc, err := s.CompressLayer(ctx, io.TeeReader(tarStream, diffID.Hash()))
	if err != nil {
		return desc, "", err
	}
	return desc, diffID.Digest(), nil
}

// CompressLayer stores an uncompressed layer tar stream as a gzip blob. It
// is builder's one gzip layer writer (import, commit, and push's
// compression of stored uncompressed layers, whose diff IDs are known), at
// layergzip's default level. Hold Writing while the blob is not yet named
// in the index.
func (s *Store) CompressLayer(ctx context.Context, tarStream io.Reader) (ocispec.Descriptor, error) {
	w, err := content.OpenWriter(ctx, s.cs, content.WithRef(fmt.Sprintf("layer-%d", time.Now().UnixNano())))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write layer: %w", err)
	}
	defer w.Close()
	gz, err := layergzip.NewWriter(w, layergzip.DefaultLevel)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write layer: %w", err)
	}
	if _, err := io.Copy(gz, tarStream); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write layer: %w", err)
	}
	if err := gz.Close(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write layer: %w", err)
	}
	st, err := w.Status()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	dgst := w.Digest()
	if err := w.Commit(ctx, st.Offset, dgst); err != nil && !errdefs.IsAlreadyExists(err) {
		return ocispec.Descriptor{}, fmt.Errorf("write layer: %w", err)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: dgst, Size: st.Offset}, nil
}

// JSONWriter stores JSON documents as blobs (manifests, indexes, configs):
// all that writing an image needs of the store.
type JSONWriter interface {
	WriteJSON(ctx context.Context, mediaType string, v any) (ocispec.Descriptor, error)
}

// JSONStore writes and reads JSON documents as blobs, as rewriting an
// image for push does.
type JSONStore interface {
	JSONWriter
	ReadJSON(ctx context.Context, d ocispec.Descriptor, v any) error
}

// ReaderAt opens blob d: the store is a content.Provider.
func (s *Store) ReaderAt(ctx context.Context, d ocispec.Descriptor) (content.ReaderAt, error) {
	return s.cs.ReaderAt(ctx, d)
}

// WriteJSON stores v as a blob of the given media type.
func (s *Store) WriteJSON(ctx context.Context, mediaType string, v any) (ocispec.Descriptor, error) {
	dt, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	if err := content.WriteBlob(ctx, s.cs, "json-"+desc.Digest.String(), strings.NewReader(string(dt)), desc); err != nil {
		return desc, fmt.Errorf("write %s: %w", mediaType, err)
	}
	return desc, nil
}

// ReadJSON parses the blob d (a manifest, index or config) into v.
func (s *Store) ReadJSON(ctx context.Context, d ocispec.Descriptor, v any) error {
	dt, err := content.ReadBlob(ctx, s.cs, d)
	if err != nil {
		return fmt.Errorf("read %s: %w", d.Digest, err)
	}
	if err := json.Unmarshal(dt, v); err != nil {
		return fmt.Errorf("parse %s: %w", d.Digest, err)
	}
	return nil
}
