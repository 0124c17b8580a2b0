package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/builder-dev/builder/image"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/semaphore"
)

// PushOptions are `builder push` flags.
type PushOptions struct {
	Quiet bool
	// AllTags pushes every tag of the repository in the store.
	AllTags bool
}

// Push sends ref's image from the store to its registry, with docker's
// lines: "Pushed" or "Layer already exists" per layer, then the digest.
func (c *Client) Push(ctx context.Context, st *store.Store, ref string, o PushOptions, w io.Writer) error {
	if o.AllTags {
		named, err := reference.ParseNormalizedNamed(ref)
		if err != nil {
			return fmt.Errorf("invalid reference format: %s", ref)
		}
		if !reference.IsNameOnly(named) {
			return errors.New("tag can't be used with --all-tags/-a")
		}
		imgs, err := st.List(ctx)
		if err != nil {
			return err
		}
		pushed := 0
		for _, img := range imgs {
			if n, err := reference.ParseNormalizedNamed(img.Name); err == nil && n.Name() == named.Name() {
				one := o
				one.AllTags = false
				if err := c.Push(ctx, st, img.Name, one, w); err != nil {
					return err
				}
				pushed++
			}
		}
		if pushed == 0 {
			return fmt.Errorf("An image does not exist locally with the tag: %s", reference.FamiliarName(named))
		}
		return nil
	}
	name, err := store.ParseName(ref)
	if err != nil {
		return err
	}
	img, _, err := st.Lookup(ctx, name)
	if err != nil || img.Name != name {
		return fmt.Errorf("An image does not exist locally with the tag: %s", strings.TrimSuffix(store.FamiliarName(name), ":latest"))
	}
	named, _ := reference.ParseNormalizedNamed(name)
	say := func(format string, args ...any) {
		if !o.Quiet {
			fmt.Fprintf(w, format, args...)
		}
	}
	say("The push refers to repository [%s]\n", named.Name())
	pusher, err := c.Resolver().Pusher(ctx, name)
	if err != nil {
		return err
	}
	done, err := st.Writing(ctx)
	if err != nil {
		return err
	}
	defer done()
	var mu sync.Mutex
	report := func(d ocispec.Descriptor, existed bool) {
		if !images.IsLayerType(d.MediaType) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if existed {
			say("%s: Layer already exists\n", d.Digest.Encoded()[:12])
		} else {
			say("%s: Pushed\n", d.Digest.Encoded()[:12])
		}
	}
	sources := map[godigest.Digest]ocispec.Descriptor{}
	target, err := image.Compressed(ctx, st, img.Target, sources)
	if err != nil {
		return fmt.Errorf("push %s: %w", reference.FamiliarString(named), err)
	}
	rp := reportingPusher{Pusher: pusher, report: report}
	provider := image.CompressedProvider{Store: st, Sources: sources}
	if err := remotes.PushContent(ctx, rp, target, provider, semaphore.NewWeighted(3), platforms.All, nil); err != nil {
		return fmt.Errorf("push %s: %w", reference.FamiliarString(named), err)
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	say("%s: digest: %s size: %d\n", tag, target.Digest, target.Size)
	if o.Quiet {
		fmt.Fprintln(w, named.String())
	}
	return nil
}

// reportingPusher tells, per blob, whether the registry already had it.
type reportingPusher struct {
	remotes.Pusher
	report func(ocispec.Descriptor, bool)
}

func (p reportingPusher) Push(ctx context.Context, d ocispec.Descriptor) (content.Writer, error) {
	cw, err := p.Pusher.Push(ctx, d)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		p.report(d, true)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return reportingWriter{Writer: cw, d: d, report: p.report}, nil
}

type reportingWriter struct {
	content.Writer
	d      ocispec.Descriptor
	report func(ocispec.Descriptor, bool)
}

func (w reportingWriter) Commit(ctx context.Context, size int64, expected godigest.Digest, opts ...content.Opt) error {
	err := w.Writer.Commit(ctx, size, expected, opts...)
	if err == nil || errors.Is(err, errdefs.ErrAlreadyExists) {
		w.report(w.d, err != nil)
	}
	return err
}
