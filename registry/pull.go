package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
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
		return c.pullAllTags(ctx, st, named, o, w)
	}
	return c.pull(ctx, st, named, o, w)
}

// pullAllTags pulls every tag of named's repository, one after another.
func (c *Client) pullAllTags(ctx context.Context, st *store.Store, named reference.Named, o PullOptions, w io.Writer) error {
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
		if err := c.pull(ctx, st, tagged, o, w); err != nil {
			return err
		}
	}
	return nil
}

// pull resolves one reference, fetches what the store lacks of it for the
// platform asked for, and names it.
func (c *Client) pull(ctx context.Context, st *store.Store, named reference.Named, o PullOptions, w io.Writer) error {
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
	if err := fetch(ctx, st.Content(), fetcher, desc, matcher, say); err != nil {
		return fmt.Errorf("pull %s: %w", reference.FamiliarString(named), err)
	}
	if _, err := images.Manifest(ctx, st.Content(), desc, matcher); err != nil {
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("no matching manifest for %s in the manifest list entries", platformString(o.Platform))
		}
		return err
	}
	say("Digest: %s\n", desc.Digest)
	if err := namePulled(ctx, st, named, desc, say); err != nil {
		return err
	}
	fmt.Fprintln(w, named.String())
	return nil
}

// fetch walks desc and the children matcher selects, fetching each blob
// cs lacks, and says per layer whether it existed or was pulled.
func fetch(ctx context.Context, cs content.Store, fetcher remotes.Fetcher, desc ocispec.Descriptor, matcher platforms.MatchComparer, say func(string, ...any)) error {
	var mu sync.Mutex
	fetchBlob := remotes.FetchHandler(cs, fetcher)
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
		subs, err := fetchBlob(ctx, d)
		if err == nil && layer {
			mu.Lock()
			say("%s: Pull complete\n", d.Digest.Encoded()[:12])
			mu.Unlock()
		}
		return subs, err
	})
	children := images.FilterPlatforms(images.ChildrenHandler(cs), matcher)
	return images.Dispatch(ctx, images.Handlers(progress, children), semaphore.NewWeighted(3), desc)
}

// namePulled records a pulled image under its tag (a pull by digest keeps it
// untagged), with the digest it was pulled as, and says docker's status.
func namePulled(ctx context.Context, st interface {
	store.Catalog
	store.Namer
}, named reference.Named, desc ocispec.Descriptor, say func(string, ...any)) error {
	target := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size,
		Annotations: map[string]string{store.AnnotationRepoDigest: named.Name() + "@" + desc.Digest.String()}}
	if _, isDigest := named.(reference.Digested); isDigest {
		return st.Name(ctx, store.Image{Target: target})
	}
	prev, _, _ := st.Lookup(ctx, named.String())
	if err := st.Name(ctx, store.Image{Name: named.String(), Target: target}); err != nil {
		return err
	}
	status := "Downloaded newer image for"
	if prev.Target.Digest == desc.Digest {
		status = "Image is up to date for"
	}
	say("Status: %s %s\n", status, reference.FamiliarString(named))
	return nil
}

func platformString(p string) string {
	if p != "" {
		return p
	}
	return platforms.Format(platforms.DefaultSpec())
}
