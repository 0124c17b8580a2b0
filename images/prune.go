package images

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/builder-dev/builder/store"
	"github.com/docker/go-units"
)

// PruneOptions are `builder image prune` flags.
type PruneOptions struct {
	// All removes every image no container uses, not only dangling ones.
	All     bool
	Filters []string
}

type pruneFilter struct {
	until  time.Time
	labels []func(map[string]string) bool
}

func parsePruneFilters(in []string) (pruneFilter, error) {
	var f pruneFilter
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return f, fmt.Errorf("--filter %q: want key=value", s)
		}
		switch {
		case k == "until":
			t, err := parseUntil(v)
			if err != nil {
				return f, fmt.Errorf("--filter until=%s: %w", v, err)
			}
			f.until = t
		case k == "label" || k == "label!":
			neg := k == "label!"
			lk, lv, hasValue := strings.Cut(v, "=")
			f.labels = append(f.labels, func(labels map[string]string) bool {
				got, present := labels[lk]
				match := present && (!hasValue || got == lv)
				return match != neg
			})
		default:
			return f, fmt.Errorf("--filter %q: unsupported filter %q (until, label, label!)", s, k)
		}
	}
	return f, nil
}

// parseUntil takes a duration ("24h") or a timestamp, as docker does.
func parseUntil(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	var sec int64
	if _, err := fmt.Sscanf(v, "%d", &sec); err == nil {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, fmt.Errorf("want a duration or a timestamp")
}

// Prune removes dangling images (all unused ones with All) and the blobs
// only they used, printing docker's report.
func Prune(ctx context.Context, st *store.Store, o PruneOptions, w io.Writer) error {
	f, err := parsePruneFilters(o.Filters)
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
		if !f.until.IsZero() && !d.Created().Before(f.until) {
			continue
		}
		keep := false
		for _, m := range f.labels {
			keep = keep || !m(d.Config.Config.Labels)
		}
		if keep {
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
func stillNamed(ctx context.Context, st *store.Store, img store.Image) bool {
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
