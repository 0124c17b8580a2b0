package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Catalog reads the index and what each listed image is: all that
// listing, filtering and history need of the store. *Store is one.
type Catalog interface {
	List(ctx context.Context) ([]Image, error)
	Lookup(ctx context.Context, ref string) (Image, Details, error)
	Details(ctx context.Context, target ocispec.Descriptor) (Details, error)
	LayerSizes(ctx context.Context, d Details) ([]int64, error)
	ForPlatform(ctx context.Context, target ocispec.Descriptor, platform string) (ocispec.Descriptor, Details, error)
}

// Details is what the image listing and run need from an image's manifest
// and config.
type Details struct {
	Manifest ocispec.Manifest
	// ConfigDesc's digest is the image ID, as docker shows it.
	ConfigDesc ocispec.Descriptor
	Config     ocispec.Image
	// Size is the image's unpacked size: the sum of its layers' uncompressed
	// sizes, which is what docker's SIZE column reports.
	Size int64
}

// ID is the image ID: the digest of its config.
func (d Details) ID() string { return d.ConfigDesc.Digest.String() }

// Created is the config's creation time (zero when the config has none).
func (d Details) Created() time.Time {
	if d.Config.Created == nil {
		return time.Time{}
	}
	return *d.Config.Created
}

// Details reads the manifest (for the host platform, when target is an
// index), config and size of target.
func (s *Store) Details(ctx context.Context, target ocispec.Descriptor) (Details, error) {
	var d Details
	m, err := s.manifest(ctx, target)
	if err != nil {
		return d, err
	}
	d.Manifest = m
	d.ConfigDesc = m.Config
	dt, err := content.ReadBlob(ctx, s.cs, m.Config)
	if err != nil {
		return d, fmt.Errorf("read config %s: %w", m.Config.Digest, err)
	}
	if err := json.Unmarshal(dt, &d.Config); err != nil {
		return d, fmt.Errorf("parse config %s: %w", m.Config.Digest, err)
	}
	sizes, err := s.LayerSizes(ctx, d)
	if err != nil {
		return d, err
	}
	for _, n := range sizes {
		d.Size += n
	}
	return d, nil
}

// manifest reads target's image manifest: this machine's platform's of an
// index, or, in an index without one (built or pulled for other platforms
// only), its first stored image's, as docker's containerd store shows such
// an image instead of failing on it.
func (s *Store) manifest(ctx context.Context, target ocispec.Descriptor) (ocispec.Manifest, error) {
	m, err := images.Manifest(ctx, s.cs, target, platforms.Default())
	if err == nil || !images.IsIndexType(target.MediaType) {
		if err != nil {
			err = fmt.Errorf("read manifest %s: %w", target.Digest, err)
		}
		return m, err
	}
	first, ok, rerr := s.storedManifest(ctx, target, func(c ocispec.Descriptor) bool {
		// Not attestations (unknown/unknown), not nested indexes.
		return c.Platform != nil && c.Platform.OS != "unknown" && images.IsManifestType(c.MediaType)
	})
	if rerr != nil {
		return m, rerr
	}
	if !ok {
		return m, fmt.Errorf("read manifest %s: %w", target.Digest, err)
	}
	var alt ocispec.Manifest
	if rerr := s.ReadJSON(ctx, first, &alt); rerr != nil {
		return m, rerr
	}
	return alt, nil
}

// storedManifest returns the first entry of the index target that match
// accepts and the store holds: a pull keeps only the platforms it fetched.
func (s *Store) storedManifest(ctx context.Context, target ocispec.Descriptor, match func(ocispec.Descriptor) bool) (ocispec.Descriptor, bool, error) {
	var idx ocispec.Index
	if err := s.ReadJSON(ctx, target, &idx); err != nil {
		return target, false, err
	}
	for _, c := range idx.Manifests {
		if !match(c) {
			continue
		}
		if _, err := s.cs.Info(ctx, c.Digest); err != nil {
			continue
		}
		return c, true, nil
	}
	return target, false, nil
}

// LayerSizes returns the uncompressed size of each of the image's layers.
func (s *Store) LayerSizes(ctx context.Context, d Details) ([]int64, error) {
	sizes := make([]int64, len(d.Manifest.Layers))
	for i, l := range d.Manifest.Layers {
		n, err := s.uncompressedSize(ctx, l)
		if err != nil {
			return nil, err
		}
		sizes[i] = n
	}
	return sizes, nil
}

// uncompressedSize finds a layer's unpacked size without unpacking it where
// the format allows: a gzip member ends with its uncompressed size (mod
// 2^32, so layers over 4 GiB are counted by reading them).
func (s *Store) uncompressedSize(ctx context.Context, l ocispec.Descriptor) (int64, error) {
	ra, err := s.cs.ReaderAt(ctx, l)
	if err != nil {
		return 0, fmt.Errorf("open layer %s: %w", l.Digest, err)
	}
	defer ra.Close()
	switch {
	case strings.HasSuffix(l.MediaType, "+gzip") || strings.HasSuffix(l.MediaType, ".gzip"):
		if l.Size >= 18 && l.Size < 1<<32 {
			var b [4]byte
			if _, err := ra.ReadAt(b[:], l.Size-4); err == nil {
				if n := int64(binary.LittleEndian.Uint32(b[:])); n >= l.Size/1100 {
					return n, nil
				}
			}
		}
	case strings.HasSuffix(l.MediaType, ".tar") || strings.HasSuffix(l.MediaType, "layer.v1.tar"):
		return l.Size, nil
	}
	r, err := Decompress(content.NewReader(ra))
	if err != nil {
		return 0, fmt.Errorf("decompress layer %s: %w", l.Digest, err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return 0, fmt.Errorf("decompress layer %s: %w", l.Digest, err)
	}
	return n, nil
}

// Lookup finds an image by name ("hello", "hello:v1", a full name) or by an
// image ID or a prefix of one, as docker's commands accept either.
func (s *Store) Lookup(ctx context.Context, ref string) (Image, Details, error) {
	list, err := s.List(ctx)
	if err != nil {
		return Image{}, Details{}, err
	}
	// name@sha256:...: the entry of that repository pulled as that digest.
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		if c, ok := named.(reference.Canonical); ok {
			for _, img := range list {
				if img.Target.Digest == c.Digest() && repoOf(img.Name) == named.Name() {
					d, err := s.Details(ctx, img.Target)
					return img, d, err
				}
			}
			return Image{}, Details{}, fmt.Errorf("%w: %s", ErrNotFound, ref)
		}
	}
	if name, err := ParseName(ref); err == nil {
		for _, img := range list {
			if img.Name == name {
				d, err := s.Details(ctx, img.Target)
				return img, d, err
			}
		}
	}
	if IDPrefix(ref) {
		want := "sha256:" + strings.TrimPrefix(ref, "sha256:")
		for _, img := range list {
			// Only the manifest is read to compare: Details would open
			// every layer of every image to size them.
			match := strings.HasPrefix(img.Target.Digest.String(), want)
			if !match {
				m, err := s.manifest(ctx, img.Target)
				match = err == nil && strings.HasPrefix(m.Config.Digest.String(), want)
			}
			if match {
				d, err := s.Details(ctx, img.Target)
				return img, d, err
			}
		}
	}
	return Image{}, Details{}, fmt.Errorf("%w: %s", ErrNotFound, ref)
}

func repoOf(name string) string {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	return n.Name()
}

// ForPlatform returns the manifest of target for platform (os/arch[/variant])
// and its details, as --platform picks one image of a multi-platform one.
// A single-platform image must be of that platform.
func (s *Store) ForPlatform(ctx context.Context, target ocispec.Descriptor, platform string) (ocispec.Descriptor, Details, error) {
	p, err := platforms.Parse(platform)
	if err != nil {
		return target, Details{}, fmt.Errorf("--platform %q: %w", platform, err)
	}
	only := platforms.OnlyStrict(p)
	want := platforms.Format(p)
	if images.IsIndexType(target.MediaType) {
		m, ok, err := s.storedManifest(ctx, target, func(c ocispec.Descriptor) bool {
			return c.Platform != nil && only.Match(*c.Platform)
		})
		if err != nil {
			return target, Details{}, err
		}
		if !ok {
			return target, Details{}, fmt.Errorf("%w (%s)", ErrPlatform, want)
		}
		d, err := s.Details(ctx, m)
		return m, d, err
	}
	d, err := s.Details(ctx, target)
	if err != nil {
		return target, d, err
	}
	have := platforms.Normalize(ocispec.Platform{OS: d.Config.OS, Architecture: d.Config.Architecture, Variant: d.Config.Variant})
	if !only.Match(have) {
		return target, d, fmt.Errorf("%w (%s): its platform is %s", ErrPlatform, want, platforms.Format(have))
	}
	return target, d, nil
}
