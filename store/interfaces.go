package store

import (
	"context"
	"io"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The store's narrow faces, in containerd's style, for the packages that
// consume it: each takes the least it needs, and tests can give it an
// in-memory fake. (Catalog, the read side, is in image.go.)

// Leaser holds images for their users: a container holds its image, and
// through it every blob the image reaches, from its creation to its
// removal.
type Leaser interface {
	Lease(ctx context.Context, id string, targets ...ocispec.Descriptor) error
	Release(ctx context.Context, id string) error
}

// Namer names images in the index, any number in one update.
type Namer interface {
	Name(ctx context.Context, imgs ...Image) error
}

// Gate keeps collection off blobs while they are written, or about to be
// held by a lease or a name: done ends it.
type Gate interface {
	Writing(ctx context.Context) (done func(), err error)
}

// LayerWriter stores layers (import, commit) and gives their blobs back.
type LayerWriter interface {
	WriteLayer(ctx context.Context, tarStream io.Reader) (ocispec.Descriptor, digest.Digest, error)
	Content() content.Store
}

var (
	_ Catalog     = (*Store)(nil)
	_ Leaser      = (*Store)(nil)
	_ Namer       = (*Store)(nil)
	_ Gate        = (*Store)(nil)
	_ LayerWriter = (*Store)(nil)
)
