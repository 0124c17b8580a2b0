// Package cache reports on and prunes the solver's build cache, as
// `docker builder prune` and the build-cache line of `docker system df` do.
package cache

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/builder-dev/builder/filters"
	"github.com/docker/go-units"
	"github.com/moby/buildkit/client"
	"golang.org/x/sync/errgroup"
)

// PruneOptions are `builder builder prune` flags.
type PruneOptions struct {
	All         bool
	Filters     []string
	KeepStorage int64
}

// Prune removes build cache records and prints docker's report.
func Prune(ctx context.Context, c *client.Client, o PruneOptions, w io.Writer) error {
	opts, err := pruneOptions(o)
	if err != nil {
		return err
	}
	ch := make(chan client.UsageInfo)
	var ids []string
	var total int64
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		defer close(ch)
		return c.Prune(ctx, ch, opts...)
	})
	eg.Go(func() error {
		for u := range ch {
			ids = append(ids, u.ID)
			total += u.Size
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("prune build cache: %w", err)
	}
	if len(ids) > 0 {
		fmt.Fprintln(w, "Deleted build cache objects:")
		for _, id := range ids {
			fmt.Fprintln(w, id)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Total reclaimed space: %s\n", units.HumanSize(float64(total)))
	return nil
}

// pruneOptions are o as BuildKit's prune takes them, converted as docker's
// daemon and buildx convert --filter: until= (or unused-for=) is a
// duration the records kept were used within; id= matches a prefix; the
// other keys are BuildKit's record fields (parent is its "parents").
func pruneOptions(o PruneOptions) ([]client.PruneOption, error) {
	f, err := filters.Parse(o.Filters, "until", "unused-for", "id", "parent", "type", "description", "inuse", "shared", "private")
	if err != nil {
		return nil, err
	}
	var keep time.Duration
	for _, key := range []string{"until", "unused-for"} {
		switch vs := f[key]; len(vs) {
		case 0:
		case 1:
			if keep, err = time.ParseDuration(vs[0]); err != nil {
				return nil, fmt.Errorf("--filter %s=%s: want a duration (24h)", key, vs[0])
			}
		default:
			return nil, fmt.Errorf("--filter %s: give one value", key)
		}
	}
	var bk []string
	for _, key := range []string{"id", "parent", "type", "description", "inuse", "shared", "private"} {
		vs := f[key]
		field := key
		if key == "parent" {
			field = "parents"
		}
		switch {
		case len(vs) > 1:
			return nil, fmt.Errorf("--filter %s: give one value", key)
		case len(vs) == 0:
		case key == "inuse" || key == "shared" || key == "private":
			// Flags, which BuildKit matches by presence.
			if v := strings.ToLower(vs[0]); v != "" && v != "true" && v != "1" {
				return nil, fmt.Errorf("--filter %s=%s: want %s=true (%s)", key, vs[0], key, map[string]string{"inuse": "none for unused records: prune keeps records in use", "shared": "or private=true", "private": "or shared=true"}[key])
			}
			bk = append(bk, field)
		case key == "id":
			bk = append(bk, field+"~="+vs[0])
		default:
			bk = append(bk, field+"=="+vs[0])
		}
	}
	opts := []client.PruneOption{client.WithKeepOpt(keep, o.KeepStorage, 0, 0)}
	if len(bk) > 0 {
		opts = append(opts, client.WithFilter([]string{strings.Join(bk, ",")}))
	}
	if o.All {
		opts = append(opts, client.PruneAll)
	}
	return opts, nil
}

// Usage sums the build cache: records, those in use, size and what a
// prune could reclaim.
type Usage struct {
	Total, Active     int
	Size, Reclaimable int64
}

// DiskUsage reads the solver's cache records.
func DiskUsage(ctx context.Context, c *client.Client) (Usage, error) {
	var u Usage
	recs, err := c.DiskUsage(ctx)
	if err != nil {
		return u, fmt.Errorf("read build cache usage: %w", err)
	}
	for _, r := range recs {
		u.Total++
		if r.Shared {
			continue // counted under images, as docker does
		}
		u.Size += r.Size
		if r.InUse {
			u.Active++
		} else {
			u.Reclaimable += r.Size
		}
	}
	return u, nil
}
