package images

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/builder-dev/builder/store"
)

// Tag names the image source refers to (by name or ID) as target.
func Tag(ctx context.Context, st *store.Store, source, target string) error {
	name, err := store.ParseName(target)
	if err != nil {
		return err
	}
	img, _, err := st.Lookup(ctx, source)
	if err != nil {
		return noSuchImage(err, source)
	}
	return st.Tag(ctx, name, img.Target)
}

// RemoveOptions are `builder rmi` flags.
type RemoveOptions struct {
	// Force removes an image ID that has several names, all of them, and
	// an image a container uses.
	Force bool
	// InUse names a container that uses the image with this manifest
	// digest ("" for none).
	InUse func(manifest string) string
}

// Remove untags and deletes images as docker rmi does, printing docker's
// "Untagged:" and "Deleted:" lines. Blobs another image still uses stay.
func Remove(ctx context.Context, st *store.Store, refs []string, o RemoveOptions, w io.Writer) error {
	var errs []error
	for _, ref := range refs {
		if err := remove(ctx, st, ref, o, w); err != nil {
			errs = append(errs, err)
		}
	}
	// Skipped while another process writes; a later rmi or prune reclaims
	// the blobs then.
	if _, err := st.GC(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func remove(ctx context.Context, st *store.Store, ref string, o RemoveOptions, w io.Writer) error {
	img, d, err := st.Lookup(ctx, ref)
	if err != nil {
		return noSuchImage(err, ref)
	}
	all, err := st.List(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, other := range all {
		if other.Target.Digest == img.Target.Digest && other.Name != "" {
			names = append(names, other.Name)
		}
	}
	if o.InUse != nil && !o.Force {
		if c := o.InUse(img.Target.Digest.String()); c != "" && (len(names) <= 1 || !isName(ref, img.Name)) {
			return fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
				ref, c[:12], shortID(d.ID()))
		}
	}
	byName := img.Name != "" && isName(ref, img.Name)
	if byName && len(names) > 1 {
		// Only this name goes; the image stays under its others.
		if _, err := st.Untag(ctx, img.Name); err != nil {
			return err
		}
		fmt.Fprintf(w, "Untagged: %s\n", familiarTag(img.Name))
		return nil
	}
	if !byName && len(names) > 1 && !o.Force {
		return fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortID(d.ID()))
	}
	for _, n := range names {
		if _, err := st.Untag(ctx, n); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		fmt.Fprintf(w, "Untagged: %s\n", familiarTag(n))
	}
	if err := st.Forget(ctx, img.Target.Digest); err != nil {
		return err
	}
	fmt.Fprintf(w, "Deleted: %s\n", img.Target.Digest)
	return nil
}

// isName reports whether the user's ref named the image rather than its ID.
func isName(ref, name string) bool {
	n, err := store.ParseName(ref)
	return err == nil && n == name
}

func familiarTag(name string) string {
	repo, tag := store.RepoTag(name)
	return repo + ":" + tag
}

// NoSuchImage is docker's error for an unknown image.
type NoSuchImage struct{ Ref string }

func (e *NoSuchImage) Error() string { return "No such image: " + e.Ref }

func noSuchImage(err error, ref string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NoSuchImage{Ref: ref}
	}
	return err
}
