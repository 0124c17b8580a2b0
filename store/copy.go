package store

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	cerrdefs "github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CopyFrom copies every blob of the image target (an index, a manifest and
// what they name) that the store lacks from src, each verified against its
// digest. Hold Writing until the image is named.
func (s *Store) CopyFrom(ctx context.Context, src content.Provider, target ocispec.Descriptor) error {
	copyBlob := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if _, err := s.cs.Info(ctx, d.Digest); err == nil {
			return nil, nil
		}
		ra, err := src.ReaderAt(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", d.Digest, err)
		}
		defer ra.Close()
		if err := content.WriteBlob(ctx, s.cs, "copy-"+d.Digest.String(), content.NewReader(ra), d); err != nil && !cerrdefs.IsAlreadyExists(err) {
			return nil, fmt.Errorf("write %s: %w", d.Digest, err)
		}
		return nil, nil
	})
	if err := images.Walk(ctx, images.Handlers(copyBlob, images.ChildrenHandler(src)), target); err != nil {
		return fmt.Errorf("copy image %s: %w", target.Digest, err)
	}
	return nil
}
