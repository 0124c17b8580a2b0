package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/builder-dev/builder/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Containers answers for the holders of the store's leases (containers):
// whether one is running. container.Manager implements it.
type Containers interface {
	Running(ctx context.Context, id string) bool
}

// RemoveOptions are `builder rmi` flags.
type RemoveOptions struct {
	// Force removes an image ID that has several names, all of them, and
	// an image a stopped container uses (the container keeps it).
	Force bool
	// Containers tells which containers that hold an image run; nil
	// counts every holder as stopped.
	Containers Containers
}

// Remove untags and deletes images as docker rmi does, printing docker's
// "Untagged:" and "Deleted:" lines. Blobs another image or a container
// still uses stay.
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

// users splits the containers that hold target into running and stopped.
func users(ctx context.Context, st *store.Store, target ocispec.Descriptor, c Containers) (running, stopped []string, err error) {
	leases, err := st.Leases(ctx)
	if err != nil {
		return nil, nil, err
	}
	holders := store.Holders(leases, target)
	sort.Strings(holders)
	for _, id := range holders {
		if c != nil && c.Running(ctx, id) {
			running = append(running, id)
		} else {
			stopped = append(stopped, id)
		}
	}
	return running, stopped, nil
}

// remove follows docker's daemon (daemon/images/image_delete.go): a name
// that is not the image's last goes alone; the last name of an image a
// container uses goes only with -f, and then the image stays (as <none>)
// while a running container uses it; by ID, a running container's image
// cannot be removed at all, and a stopped one's only with -f.
func remove(ctx context.Context, st *store.Store, ref string, o RemoveOptions, w io.Writer) error {
	img, d, err := st.Lookup(ctx, ref)
	if err != nil {
		return store.NoSuchImageFor(err, ref)
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
	running, stopped, err := users(ctx, st, img.Target, o.Containers)
	if err != nil {
		return err
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
	inUse := append(append([]string{}, running...), stopped...)
	switch {
	case byName && !o.Force && len(inUse) > 0:
		return fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
			ref, inUse[0][:12], shortID(d.ID()))
	case byName && len(running) > 0:
		// docker untags and keeps the image for the running container.
		if _, err := st.Untag(ctx, img.Name); err != nil {
			return err
		}
		if err := st.AddDangling(ctx, img.Target); err != nil {
			return err
		}
		fmt.Fprintf(w, "Untagged: %s\n", familiarTag(img.Name))
		return nil
	case !byName && len(running) > 0:
		return fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image is being used by running container %s",
			shortID(d.ID()), running[0][:12])
	case !byName && len(names) > 1 && !o.Force:
		return fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortID(d.ID()))
	case !byName && len(stopped) > 0 && !o.Force:
		return fmt.Errorf("conflict: unable to delete %s (must be forced) - image is being used by stopped container %s",
			shortID(d.ID()), stopped[0][:12])
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
	fmt.Fprintf(w, "Deleted: %s\n", d.ID())
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
