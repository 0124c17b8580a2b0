package images

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/builder-dev/builder/filters"
	"github.com/builder-dev/builder/store"
	"github.com/docker/go-units"
)

// PruneOptions are `builder image prune` flags.
type PruneOptions struct {
	// All removes every image no container uses, not only dangling ones.
	All     bool
	Filters []string
}

// Prune removes dangling images (all unused ones with All) and the blobs
// only they used, printing docker's report.
func Prune(ctx context.Context, st *store.Store, o PruneOptions, w io.Writer) error {
	f, err := filters.ParsePrune(o.Filters, time.Now())
	if err != nil {
		return err
	}
	imgs, err := st.List(ctx)
	if err != nil {
		return err
	}
	leases, err := st.Leases(ctx)
	if err != nil {
		return err
	}
	var lines []string
	removed := map[string]bool{}
	for _, img := range imgs {
		if img.Name != "" && !o.All || len(store.Holders(leases, img.Target)) > 0 {
			continue // docker prunes no image a container, running or not, was made from
		}
		d, err := st.Details(ctx, img.Target)
		if err != nil {
			continue // an incomplete entry is not ours to judge here
		}
		if !f.Match(d.Created(), d.Config.Config.Labels) {
			continue
		}
		if img.Name != "" {
			if _, err := st.Untag(ctx, img.Name); err != nil {
				return err
			}
			lines = append(lines, "untagged: "+familiarTag(img.Name))
		}
		if !removed[img.Target.Digest.String()] && !stillNamed(ctx, st, img) {
			removed[img.Target.Digest.String()] = true
			if err := st.Forget(ctx, img.Target.Digest); err != nil {
				return err
			}
			lines = append(lines, "deleted: "+d.ID())
		}
	}
	res, err := st.GC(ctx)
	if err != nil {
		return err
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "Deleted Images:")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Total reclaimed space: %s\n", units.HumanSize(float64(res.Bytes)))
	if res.Skipped {
		fmt.Fprintln(w, "(another builder process is writing to the store; its unreferenced blobs are reclaimed by a later prune)")
	}
	return nil
}

// stillNamed reports whether another entry still names img's target.
func stillNamed(ctx context.Context, st store.Catalog, img store.Image) bool {
	all, err := st.List(ctx)
	if err != nil {
		return true
	}
	for _, other := range all {
		if other.Target.Digest == img.Target.Digest && other.Name != "" {
			return true
		}
	}
	return false
}
