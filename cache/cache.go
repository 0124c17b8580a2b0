// Package cache reports on and prunes the solver's build cache, as
// `docker builder prune` and the build-cache line of `docker system df` do.
package cache

import (
	"context"
	"fmt"
	"io"

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
	opts := []client.PruneOption{client.WithFilter(o.Filters), client.WithKeepOpt(0, o.KeepStorage, 0, 0)}
	if o.All {
		opts = append(opts, client.PruneAll)
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
