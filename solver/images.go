package solver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	cerrdefs "github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
)

// ImageSink takes an image that a solve named with type=image (and no
// push) from a client such as buildctl or buildx: it copies target's blobs
// from src into builder's store and names it there, so that `builder
// images` lists what a client built through `builder serve`. It is called
// once the solve has succeeded, when every blob is in src.
type ImageSink func(ctx context.Context, src content.Provider, name string, target ocispec.Descriptor) error

// imageStore is the worker's images.Store while a sink is set. BuildKit's
// image exporter names an image before it fetches the base layers it
// left lazy, so the image cannot be copied when it is named: Update records
// it (under a lease, so BuildKit's collection a second after the solve does
// not take the blobs) with the solve in progress (sinkInterceptor), which
// hands it to the sink when the solve succeeds.
type imageStore struct {
	leases leases.Manager
}

type pendingKey struct{}

type pendingImage struct {
	img   images.Image
	lease leases.Lease
}

// pending is the images one Solve call named.
type pending struct {
	mu   sync.Mutex
	imgs []pendingImage
}

func (s imageStore) Create(ctx context.Context, img images.Image) (images.Image, error) {
	return s.Update(ctx, img)
}

func (s imageStore) Update(ctx context.Context, img images.Image, _ ...string) (images.Image, error) {
	p, _ := ctx.Value(pendingKey{}).(*pending)
	if p == nil {
		return img, fmt.Errorf("name %s: not within a solve", img.Name)
	}
	if strings.Contains(img.Name, "@") {
		return img, nil // the name-canonical alias; the store shows digests itself
	}
	l, err := s.leases.Create(ctx, leases.WithRandomID(), leases.WithExpiration(time.Hour))
	if err != nil {
		return img, fmt.Errorf("name %s: %w", img.Name, err)
	}
	if err := s.leases.AddResource(ctx, l, leases.Resource{ID: img.Target.Digest.String(), Type: "content"}); err != nil {
		s.leases.Delete(ctx, l)
		return img, fmt.Errorf("name %s: %w", img.Name, err)
	}
	p.mu.Lock()
	p.imgs = append(p.imgs, pendingImage{img: img, lease: l})
	p.mu.Unlock()
	return img, nil
}

func (imageStore) Get(_ context.Context, name string) (images.Image, error) {
	return images.Image{}, fmt.Errorf("image %s: %w", name, cerrdefs.ErrNotFound)
}

func (imageStore) List(context.Context, ...string) ([]images.Image, error) { return nil, nil }

func (imageStore) Delete(_ context.Context, name string, _ ...images.DeleteOpt) error {
	return fmt.Errorf("image %s: %w", name, cerrdefs.ErrNotFound)
}

// sinkInterceptor gives each Solve call a record of the images it names
// and, when the solve succeeds, hands them to sink; a failing sink fails the
// solve, so the client learns the image did not land.
func sinkInterceptor(sink ImageSink, src content.Provider, lm leases.Manager) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if info.FullMethod != "/moby.buildkit.v1.Control/Solve" {
			return handler(ctx, req)
		}
		p := &pending{}
		resp, err := handler(context.WithValue(ctx, pendingKey{}, p), req)
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, pi := range p.imgs {
			if err == nil {
				if serr := sink(ctx, src, pi.img.Name, pi.img.Target); serr != nil {
					err = fmt.Errorf("store %s: %w", pi.img.Name, serr)
				}
			}
			lm.Delete(context.WithoutCancel(ctx), pi.lease)
		}
		return resp, err
	}
}
