package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

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
	target, err := pushable(ctx, st, img.Target, sources)
	if err != nil {
		return fmt.Errorf("push %s: %w", reference.FamiliarString(named), err)
	}
	rp := reportingPusher{Pusher: pusher, report: report}
	provider := twinProvider{st: st, sources: sources}
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
