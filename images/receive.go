package images

import (
	"context"
	"fmt"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Receive stores the image target, whose blobs src holds, under name: what
// a client of builder serve built with type=image (solver.ImageSink). The
// blobs are copied and verified before the name is recorded, so a failure
// leaves the store's images as they were.
func Receive(ctx context.Context, st *store.Store, src content.Provider, name string, target ocispec.Descriptor) error {
	name, err := store.ParseName(name)
	if err != nil {
		return err
	}
	done, err := st.Writing(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := st.CopyFrom(ctx, src, target); err != nil {
		return err
	}
	if err := st.Tag(ctx, name, target); err != nil {
		return fmt.Errorf("name %s: %w", name, err)
	}
	return nil
}
