// Package store is builder's local image store: an OCI image layout
// directory (blobs/ plus index.json) that builds write into directly and that
// other OCI tools, such as `skopeo inspect oci:DIR:NAME`, can read.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/rootfile"

	"github.com/containerd/containerd/v2/core/content"
	contentlocal "github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// AnnotationName holds an entry's fully qualified name,
	// docker.io/library/hello:latest, as containerd and BuildKit write it.
	AnnotationName = "io.containerd.image.name"
	// The OCI ref.name annotation holds the familiar name with ":latest"
	// omitted ("hello", "quay.io/x/y:1"): what a user types, so that
	// `skopeo inspect oci:DIR:hello` finds exactly one entry. BuildKit's own
	// writer puts only the tag there, which is ambiguous across repositories.
	annotationRefName = ocispec.AnnotationRefName

	// AnnotationTagged records when an entry got its name (docker's
	// Metadata.LastTagTime).
	AnnotationTagged = "io.github.builder-dev.tagged"

	// AnnotationRepoDigest records the registry digest an entry was pulled
	// as, repo@sha256:... (docker's RepoDigests).
	AnnotationRepoDigest = "io.github.builder-dev.repo-digest"

	// maxIndexSize bounds how much of index.json is read, as containerd
	// bounds JSON it parses (CVE-2023-25153 class).
	maxIndexSize = 20 << 20
)

// ErrNotFound is returned when no image matches a name or ID.
var ErrNotFound = errors.New("no such image")

// NoSuchImage is docker's error for a reference no image in the store
// answers to ("No such image: REF"); it is an ErrNotFound.
type NoSuchImage struct{ Ref string }

func (e *NoSuchImage) Error() string        { return "No such image: " + e.Ref }
func (e *NoSuchImage) Is(target error) bool { return target == ErrNotFound }

// NoSuchImageFor is err as docker says it to a user who asked for ref:
// a *NoSuchImage where err is an ErrNotFound, else err.
func NoSuchImageFor(err error, ref string) error {
	if errors.Is(err, ErrNotFound) {
		return &NoSuchImage{Ref: ref}
	}
	return err
}

// ErrPlatform is returned when an image has no image for the platform asked.
var ErrPlatform = errors.New("the image does not provide the specified platform")

// Store is an OCI image layout directory.
type Store struct {
	dir string
	cs  content.Store
}

// Location is where the image store lives under builder's state root.
func Location(root string) string { return filepath.Join(root, "images") }

// Open opens the store at dir, creating the layout if it is not there.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0700); err != nil {
		return nil, fmt.Errorf("create image store %s: %w", dir, err)
	}
	layout := filepath.Join(dir, ocispec.ImageLayoutFile)
	if _, err := os.Stat(layout); errors.Is(err, os.ErrNotExist) {
		dt, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		if err := writeFileAtomic(layout, dt); err != nil {
			return nil, fmt.Errorf("create image store %s: %w", dir, err)
		}
	}
	cs, err := contentlocal.NewStore(dir)
	if err != nil {
		return nil, fmt.Errorf("open image store content %s: %w", dir, err)
	}
	return &Store{dir: dir, cs: &lockedIngests{Store: cs, dir: filepath.Join(dir, ingestLocks)}}, nil
}

// Dir is the layout directory.
func (s *Store) Dir() string { return s.dir }

// Content is the store's blobs, as a containerd content store.
func (s *Store) Content() content.Store { return s.cs }

// Image is one entry of the store's index: a name (empty for an untagged,
// "dangling" image) and the manifest or index it points at.
type Image struct {
	Name   string
	Target ocispec.Descriptor
}

// List returns the index's entries in index order.
func (s *Store) List(ctx context.Context) ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		out = append(out, Image{Name: d.Annotations[AnnotationName], Target: stripNames(d)})
	}
	return out, nil
}

// Name records images in the index in one update, all or none: each
// under its Name (see Tag), or dangling where Name is "" (see AddDangling).
// Every verb that makes an image (build, pull, load, import, commit) names
// it here, once it is whole.
func (s *Store) Name(ctx context.Context, imgs ...Image) error {
	return s.update(func(idx *ocispec.Index) error {
		for _, img := range imgs {
			if img.Name == "" {
				addDangling(idx, img.Target)
			} else {
				tag(idx, img.Name, img.Target)
			}
		}
		return nil
	})
}

// Tag points name (normalised, see ParseName) at target. An image that loses
// its last name this way stays in the store as a dangling entry, as docker
// keeps the image a rebuild untags.
func (s *Store) Tag(ctx context.Context, name string, target ocispec.Descriptor) error {
	return s.Name(ctx, Image{Name: name, Target: target})
}

func tag(idx *ocispec.Index, name string, target ocispec.Descriptor) {
	var old *ocispec.Descriptor
	keep := idx.Manifests[:0]
	for _, d := range idx.Manifests {
		switch {
		case d.Annotations[AnnotationName] == name:
			d := d
			old = &d
		case d.Annotations[AnnotationName] == "" && d.Digest == target.Digest:
			// The dangling entry of this digest gets its name back.
		default:
			keep = append(keep, d)
		}
	}
	idx.Manifests = append(keep, withName(target, name))
	if old != nil && old.Digest != target.Digest && !referenced(idx, old.Digest) {
		idx.Manifests = append(idx.Manifests, stripNames(*old))
	}
}

// AddDangling records target without a name, unless some entry already
// references it: the result of a build without -t.
func (s *Store) AddDangling(ctx context.Context, target ocispec.Descriptor) error {
	return s.Name(ctx, Image{Target: target})
}

func addDangling(idx *ocispec.Index, target ocispec.Descriptor) {
	if !referenced(idx, target.Digest) {
		idx.Manifests = append(idx.Manifests, stripNames(target))
	}
}

func referenced(idx *ocispec.Index, dgst digest.Digest) bool {
	for _, d := range idx.Manifests {
		if d.Digest == dgst {
			return true
		}
	}
	return false
}

func withName(d ocispec.Descriptor, name string) ocispec.Descriptor {
	d = stripNames(d)
	ann := map[string]string{AnnotationName: name}
	for k, v := range d.Annotations {
		ann[k] = v
	}
	ann[annotationRefName] = FamiliarName(name)
	ann[AnnotationTagged] = time.Now().UTC().Format(time.RFC3339Nano)
	d.Annotations = ann
	return d
}

// stripNames drops the name annotations, keeping any others.
func stripNames(d ocispec.Descriptor) ocispec.Descriptor {
	var ann map[string]string
	for k, v := range d.Annotations {
		if k == AnnotationName || k == annotationRefName || k == AnnotationTagged {
			continue
		}
		if ann == nil {
			ann = map[string]string{}
		}
		ann[k] = v
	}
	d.Annotations = ann
	return d
}

func (s *Store) indexPath() string { return filepath.Join(s.dir, ocispec.ImageIndexFile) }

func (s *Store) readIndex() (*ocispec.Index, error) {
	f, err := os.Open(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return emptyIndex(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image store index: %w", err)
	}
	defer f.Close()
	dt, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.indexPath(), err)
	}
	if len(dt) > maxIndexSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", s.indexPath(), maxIndexSize)
	}
	idx := emptyIndex()
	if err := json.Unmarshal(dt, idx); err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.indexPath(), err)
	}
	return idx, nil
}

func emptyIndex() *ocispec.Index {
	idx := &ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	return idx
}

// update applies fn to index.json under an exclusive lock, re-reading the
// index after taking it and replacing the file atomically, so two processes
// writing at once never lose each other's entries.
func (s *Store) update(fn func(*ocispec.Index) error) error {
	// The lock file is never removed: unlinking it would let a third
	// process lock a new inode while a second still holds the old one.
	lock := rootfile.Lock(s.indexPath() + ".lock")
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("lock image store index: %w", err)
	}
	defer lock.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	dt, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.indexPath(), dt); err != nil {
		return fmt.Errorf("write image store index: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, dt []byte) error {
	return atomicfile.WriteFile(path, dt, 0644)
}

// IDPrefix reports whether s looks like an image ID or a prefix of one.
func IDPrefix(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Untag removes name from the index and returns the image it named.
func (s *Store) Untag(ctx context.Context, name string) (Image, error) {
	var img Image
	err := s.update(func(idx *ocispec.Index) error {
		keep := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if d.Annotations[AnnotationName] == name {
				img = Image{Name: name, Target: stripNames(d)}
				continue
			}
			keep = append(keep, d)
		}
		idx.Manifests = keep
		if img.Name == "" {
			return fmt.Errorf("%w: %s", ErrNotFound, FamiliarName(name))
		}
		return nil
	})
	return img, err
}

// Forget removes every entry, named or not, that points at dgst.
func (s *Store) Forget(ctx context.Context, dgst digest.Digest) error {
	return s.update(func(idx *ocispec.Index) error {
		keep := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if d.Digest != dgst {
				keep = append(keep, d)
			}
		}
		idx.Manifests = keep
		return nil
	})
}
