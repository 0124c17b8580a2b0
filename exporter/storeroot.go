package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// rootRecorder is the local store as the build's OCI exporter writes into
// it, noting the image's root: the solve's response merges every
// exporter's keys, so with --push (or another image output) its
// containerimage.descriptor names the pushed image, whose layers are
// compressed and whose manifests differ from the store's (moby/buildkit
// exporter responses: "TODO: separate these out"). BuildKit copies an
// image's manifests and indexes after their children, the root last
// (contentutil.CopyChain), each through a writer whose ref says what it is
// (remotes.MakeRefKey: "manifest-sha256:...", "index-sha256:..."), and asks
// for that writer even when the store already has the blob.
type rootRecorder struct {
	content.Store
	mu   sync.Mutex
	root digest.Digest
}

func (r *rootRecorder) Writer(ctx context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	var wo content.WriterOpts
	for _, o := range opts {
		if err := o(&wo); err != nil {
			return nil, err
		}
	}
	for _, kind := range []string{"manifest-", "index-"} {
		if i := strings.LastIndex(wo.Ref, kind); i >= 0 {
			if d, err := digest.Parse(wo.Ref[i+len(kind):]); err == nil {
				r.mu.Lock()
				r.root = d
				r.mu.Unlock()
			}
		}
	}
	return r.Store.Writer(ctx, opts...)
}

// target is the descriptor of the root written last, read back from the
// store for its size and media type.
func (r *rootRecorder) target(ctx context.Context) (ocispec.Descriptor, error) {
	r.mu.Lock()
	d := r.root
	r.mu.Unlock()
	if d == "" {
		return ocispec.Descriptor{}, fmt.Errorf("the build wrote no image into the store")
	}
	info, err := r.Store.Info(ctx, d)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("the image the build wrote into the store: %w", err)
	}
	dt, err := content.ReadBlob(ctx, r.Store, ocispec.Descriptor{Digest: d, Size: info.Size})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("read the image the build wrote into the store: %w", err)
	}
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(dt, &m); err != nil || m.MediaType == "" {
		return ocispec.Descriptor{}, fmt.Errorf("the image the build wrote into the store (%s) has no media type", d)
	}
	return ocispec.Descriptor{MediaType: m.MediaType, Digest: d, Size: info.Size}, nil
}
