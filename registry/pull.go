package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/semaphore"
)

// PullOptions are `builder pull` flags.
type PullOptions struct {
	Platform string
	Quiet    bool
	// AllTags pulls every tag of the repository.
	AllTags bool
}

// Pull fetches ref (docker.io short names normalised) into the store, with
// docker's progress lines; layers already in the store are not fetched.
func (c *Client) Pull(ctx context.Context, st *store.Store, ref string, o PullOptions, w io.Writer) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("invalid reference format: %s", ref)
	}
	if o.AllTags {
		if !reference.IsNameOnly(named) {
			return errors.New("tag can't be used with --all-tags/-a")
		}
		tags, err := c.Tags(ctx, named)
		if err != nil {
			return err
		}
		for _, t := range tags {
			tagged, err := reference.WithTag(named, t)
			if err != nil {
				return err
			}
			one := o
			one.AllTags = false
			if err := c.Pull(ctx, st, tagged.String(), one, w); err != nil {
				return err
			}
		}
		return nil
	}
	say := func(format string, args ...any) {
		if !o.Quiet {
			fmt.Fprintf(w, format, args...)
		}
	}
	if reference.IsNameOnly(named) {
		say("Using default tag: latest\n")
		named = reference.TagNameOnly(named)
	}
	matcher := platforms.Default()
	if o.Platform != "" {
		p, err := platforms.Parse(o.Platform)
		if err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
		matcher = platforms.Only(p)
	}
	r := c.Resolver()
	name, desc, err := r.Resolve(ctx, named.String())
	if err != nil {
		return fmt.Errorf("pull %s: %w", reference.FamiliarString(named), err)
	}
	fetcher, err := r.Fetcher(ctx, name)
	if err != nil {
		return err
	}
	tagOrDigest := ""
	if t, ok := named.(reference.Tagged); ok {
		tagOrDigest = t.Tag()
	} else if d, ok := named.(reference.Digested); ok {
		tagOrDigest = d.Digest().String()
	}
	say("%s: Pulling from %s\n", tagOrDigest, reference.Path(named))

	done, err := st.Writing(ctx)
	if err != nil {
		return err
	}
	defer done()
	cs := st.Content()
	var mu sync.Mutex
	fetch := remotes.FetchHandler(cs, fetcher)
	progress := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		layer := images.IsLayerType(d.MediaType)
		if layer {
			if _, err := cs.Info(ctx, d.Digest); err == nil {
				mu.Lock()
				say("%s: Already exists\n", d.Digest.Encoded()[:12])
				mu.Unlock()
				return nil, nil
			}
		}
		subs, err := fetch(ctx, d)
		if err == nil && layer {
			mu.Lock()
			say("%s: Pull complete\n", d.Digest.Encoded()[:12])
			mu.Unlock()
		}
		return subs, err
	})
	children := images.FilterPlatforms(images.ChildrenHandler(cs), matcher)
	if err := images.Dispatch(ctx, images.Handlers(progress, children), semaphore.NewWeighted(3), desc); err != nil {
		return fmt.Errorf("pull %s: %w", reference.FamiliarString(named), err)
	}
	if _, err := images.Manifest(ctx, cs, desc, matcher); err != nil {
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("no matching manifest for %s in the manifest list entries", platformString(o.Platform))
		}
		return err
	}
	say("Digest: %s\n", desc.Digest)
	target := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size,
		Annotations: map[string]string{store.AnnotationRepoDigest: named.Name() + "@" + desc.Digest.String()}}
	if _, isDigest := named.(reference.Digested); isDigest {
		// A pull by digest names nothing; the image is kept untagged.
		if err := st.Name(ctx, store.Image{Target: target}); err != nil {
			return err
		}
	} else {
		prev, _, _ := st.Lookup(ctx, named.String())
		if err := st.Name(ctx, store.Image{Name: named.String(), Target: target}); err != nil {
			return err
		}
		status := "Downloaded newer image for"
		if prev.Target.Digest == desc.Digest {
			status = "Image is up to date for"
		}
		say("Status: %s %s\n", status, reference.FamiliarString(named))
	}
	fmt.Fprintln(w, named.String())
	return nil
}

func platformString(p string) string {
	if p != "" {
		return p
	}
	return platforms.Format(platforms.DefaultSpec())
}
