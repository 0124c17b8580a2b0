package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/interrupt"
	"github.com/builder-dev/builder/internal/userperm"
	"golang.org/x/term"

	"github.com/builder-dev/builder/image"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// SaveOptions are `builder save` flags.
type SaveOptions struct {
	// Output is a file path; "" writes to Stdout.
	Output string
	// Format is "docker" (docker-archive, the default) or "oci".
	Format   string
	Platform string
	Stdout   io.Writer
}

// Save writes refs to one archive, streamed from the store.
func Save(ctx context.Context, st *store.Store, refs []string, o SaveOptions) (err error) {
	var opts []archive.ExportOpt
	switch o.Format {
	case "", "docker":
	case "oci":
		opts = append(opts, archive.WithSkipDockerManifest())
	default:
		return fmt.Errorf("--format %q: want docker or oci", o.Format)
	}
	if o.Platform != "" {
		if _, err := platforms.Parse(o.Platform); err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
	} else {
		// Every platform's blobs; docker's manifest.json names this
		// machine's image, as docker save does.
		opts = append(opts, archive.WithPlatform(platforms.Default()), archive.WithAllPlatforms())
	}
	type saved struct {
		target ocispec.Descriptor
		names  []string
	}
	var list []saved
	for _, ref := range refs {
		// With --platform, the archive holds that platform's image alone.
		img, target, _, err := Lookup(ctx, st, ref, o.Platform)
		if err != nil {
			return err
		}
		var names []string
		if img.Name != "" && isName(ref, img.Name) {
			names = append(names, img.Name)
		}
		list = append(list, saved{target, names})
	}
	if o.Output == "" {
		if f, ok := o.Stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
	}
	// The blobs being read, and the compressed ones written for the
	// archive, stay safe from a concurrent rmi's collection.
	done, err := st.Writing(ctx)
	if err != nil {
		return err
	}
	defer done()
	// Layers leave the store compressed, as a push sends them: an archive
	// whose layers mix gzip and plain tars is one go-containerregistry
	// (crane, trivy, ko) cannot read. The image ID does not change.
	sources := map[digest.Digest]ocispec.Descriptor{}
	for _, sv := range list {
		target, err := image.Compressed(ctx, st, sv.target, sources)
		if err != nil {
			return fmt.Errorf("save: compress layers: %w", err)
		}
		opts = append(opts, archive.WithManifest(target, sv.names...))
	}
	provider := struct {
		content.InfoProvider
		image.CompressedProvider
	}{st.Content(), image.CompressedProvider{Store: st, Sources: sources}}
	export := func(w io.Writer) error {
		if err := archive.Export(ctx, provider, w, opts...); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		return nil
	}
	if o.Output == "" {
		return export(o.Stdout)
	}
	if err := userperm.WriteFile(o.Output); err != nil {
		return err
	}
	return atomicfile.Write(o.Output, 0644, export)
}

// LoadOptions are `builder load` flags.
type LoadOptions struct {
	// Input is a file path; "" or "-" reads Stdin.
	Input  string
	Stdin  io.Reader
	Quiet  bool
	Stdout io.Writer
	// Platform (os/arch[/variant]), when set, loads only that platform's
	// image of each multi-platform image in the archive.
	Platform string
}

// Load reads a docker-archive or OCI archive (plain, gzip or zstd) into the
// store. Every blob its images name must be present and match its digest,
// or nothing is named in the store.
func Load(ctx context.Context, st *store.Store, o LoadOptions) error {
	r := o.Stdin
	if o.Input != "" && o.Input != "-" {
		if err := userperm.ReadFile(o.Input); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		f, err := os.Open(o.Input)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer f.Close()
		r = f
	}
	var only platforms.MatchComparer
	if o.Platform != "" {
		p, err := platforms.Parse(o.Platform)
		if err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
		only = platforms.OnlyStrict(p)
	}
	// Ctrl-C ends the load even while it waits on a pipe.
	loaded, err := load(ctx, st, interrupt.Reader(ctx, r), only, o.Platform)
	if only != nil && err == nil {
		// The archive's other platforms were imported with it; they are
		// named by nothing now.
		st.GC(ctx)
	}
	if err != nil {
		// Drop what the failed load wrote (skipped if another process is
		// writing; a later collection gets it then), interrupted or not.
		st.GC(context.WithoutCancel(ctx))
		return err
	}
	for _, l := range loaded {
		if l.Name == "" {
			fmt.Fprintf(o.Stdout, "Loaded image ID: %s\n", l.ID)
		} else {
			fmt.Fprintf(o.Stdout, "Loaded image: %s\n", familiarTag(l.Name))
		}
	}
	return nil
}

type loadedImage struct {
	Name, ID string
	Target   ocispec.Descriptor
}

func load(ctx context.Context, st *store.Store, r io.Reader, only platforms.MatchComparer, platform string) ([]loadedImage, error) {
	done, err := st.Writing(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	dr, err := store.Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer dr.Close()
	vr, verdict, sums := validated(dr)
	idxDesc, err := archive.ImportIndex(ctx, st.Content(), vr)
	if err != nil && ctx.Err() != nil {
		// Interrupted: the archive is not to blame.
		return nil, fmt.Errorf("load: %w", context.Cause(ctx))
	}
	if v := verdict(); v != nil {
		return nil, fmt.Errorf("load: %w", v)
	}
	if err != nil {
		return nil, fmt.Errorf("load: not a valid image archive: %w", err)
	}
	var idx ocispec.Index
	if err := st.ReadJSON(ctx, idxDesc, &idx); err != nil {
		return nil, fmt.Errorf("load: index: %w", err)
	}
	if len(idx.Manifests) == 0 {
		return nil, errors.New("load: the archive holds no image")
	}
	var out []loadedImage
	for _, m := range idx.Manifests {
		names := archiveNames(m)
		if only != nil {
			if m, err = platformImage(ctx, st, m, only, platform); err != nil {
				return nil, err
			}
		}
		if err := complete(ctx, st.Content(), m); err != nil {
			return nil, err
		}
		d, err := st.Details(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if err := matchDiffIDs(ctx, st, d, sums); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		target := m
		target.Annotations = nil
		if len(names) == 0 {
			out = append(out, loadedImage{ID: d.ID(), Target: target})
		}
		for _, n := range names {
			out = append(out, loadedImage{Name: n, ID: d.ID(), Target: target})
		}
	}
	// Only now, with every image whole, does the index change.
	named := make([]store.Image, 0, len(out))
	for _, l := range out {
		named = append(named, store.Image{Name: l.Name, Target: l.Target})
	}
	if err := st.Name(ctx, named...); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return out, nil
}

// archiveNames reads an archive entry's names: containerd's full-name
// annotation, or an OCI ref.name that is a whole reference (a bare tag such
// as "latest" names nothing on its own).
func archiveNames(d ocispec.Descriptor) []string {
	for _, a := range []string{images.AnnotationImageName, ocispec.AnnotationRefName} {
		v := d.Annotations[a]
		if v == "" || (a == ocispec.AnnotationRefName && !strings.ContainsAny(v, "/:")) {
			continue
		}
		if n, err := store.ParseName(v); err == nil {
			return []string{n}
		}
	}
	return nil
}

// complete checks that every blob desc reaches is in the store. The
// importer files blobs under the digest of their content, so a blob whose
// content does not match the name the archive gives it is missing here.
func complete(ctx context.Context, cs content.Store, desc ocispec.Descriptor) error {
	check := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if _, err := cs.Info(ctx, d.Digest); err != nil {
			if errdefs.IsNotFound(err) {
				return nil, fmt.Errorf("load: blob %s is missing from the archive or does not match its digest", d.Digest)
			}
			return nil, err
		}
		return images.Children(ctx, cs, d)
	})
	return images.Walk(ctx, check, desc)
}

// platformImage returns the manifest of d (an index or a manifest) for the
// platform only matches, as docker load --platform picks it.
func platformImage(ctx context.Context, st *store.Store, d ocispec.Descriptor, only platforms.MatchComparer, platform string) (ocispec.Descriptor, error) {
	if images.IsIndexType(d.MediaType) {
		var idx ocispec.Index
		if err := st.ReadJSON(ctx, d, &idx); err != nil {
			return d, fmt.Errorf("load: index: %w", err)
		}
		for _, m := range idx.Manifests {
			if m.Platform != nil && only.Match(*m.Platform) {
				return m, nil
			}
		}
		return d, fmt.Errorf("load: image %s does not provide the platform %s", d.Digest, platform)
	}
	if _, err := images.Manifest(ctx, st.Content(), d, only); err != nil {
		return d, fmt.Errorf("load: image %s does not provide the platform %s: %w", d.Digest, platform, err)
	}
	return d, nil
}

// matchDiffIDs checks that each layer's uncompressed content is what the
// image's config says (its diff ID), as docker load does: an uncompressed
// layer's digest is its diff ID; a compressed one's was digested as the
// archive streamed in, or, for a blob the store already had, is read again.
func matchDiffIDs(ctx context.Context, st *store.Store, d store.Details, sums map[digest.Digest]digest.Digest) error {
	diffIDs := d.Config.RootFS.DiffIDs
	if len(diffIDs) != len(d.Manifest.Layers) {
		return fmt.Errorf("image %s: %d layers but %d diff IDs in its config", d.ID(), len(d.Manifest.Layers), len(diffIDs))
	}
	for i, l := range d.Manifest.Layers {
		got, ok := sums[l.Digest]
		if !ok {
			var err error
			if got, err = store.DiffID(ctx, st.Content(), l); err != nil {
				return fmt.Errorf("layer %s: %w", l.Digest, err)
			}
		}
		if got != diffIDs[i] {
			return fmt.Errorf("layer %s does not match its diff ID %s in the image's config (its content is %s)", l.Digest, diffIDs[i], got)
		}
	}
	return nil
}
