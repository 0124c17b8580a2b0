package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ReadIndex fetches the index d of repository ref (a name; d is fetched by
// digest) and returns the manifests it lists.
func (c *Client) ReadIndex(ctx context.Context, ref string, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %s", ref)
	}
	f, err := c.Resolver().Fetcher(ctx, named.Name()+"@"+d.Digest.String())
	if err != nil {
		return nil, fmt.Errorf("fetch %s@%s: %w", named.Name(), d.Digest, err)
	}
	rc, err := f.Fetch(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("fetch %s@%s: %w", named.Name(), d.Digest, err)
	}
	defer rc.Close()
	dt, err := io.ReadAll(io.LimitReader(rc, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch %s@%s: %w", named.Name(), d.Digest, err)
	}
	if digest.FromBytes(dt) != d.Digest {
		return nil, fmt.Errorf("fetch %s@%s: content does not match its digest", named.Name(), d.Digest)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, fmt.Errorf("fetch %s@%s: %w", named.Name(), d.Digest, err)
	}
	return idx.Manifests, nil
}

// PutIndex pushes an OCI index of manifests, which the repository already
// holds, under ref (name:tag), and returns its descriptor.
func (c *Client) PutIndex(ctx context.Context, ref string, manifests []ocispec.Descriptor) (ocispec.Descriptor, error) {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: manifests}
	idx.SchemaVersion = 2
	dt, err := json.Marshal(idx)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	p, err := c.Resolver().Pusher(ctx, ref)
	if err != nil {
		return d, fmt.Errorf("push %s: %w", ref, err)
	}
	w, err := p.Push(ctx, d)
	if errdefs.IsAlreadyExists(err) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("push %s: %w", ref, err)
	}
	defer w.Close()
	if err := content.Copy(ctx, w, bytes.NewReader(dt), d.Size, d.Digest); err != nil && !errdefs.IsAlreadyExists(err) {
		return d, fmt.Errorf("push %s: %w", ref, err)
	}
	return d, nil
}
