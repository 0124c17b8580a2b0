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

// PruneOptions are `builder builder prune` flags, buildx's.
type PruneOptions struct {
	All     bool
	Filters []string
	// The space limits, in bytes (0: none): ReservedSpace is always kept,
	// MaxUsedSpace the most kept, MinFreeSpace the disk space to leave
	// free. KeepStorage is buildx's older name for ReservedSpace.
	ReservedSpace, MaxUsedSpace, MinFreeSpace int64
	KeepStorage                               int64
	// Verbose prints each record removed, as buildx prune --verbose.
	Verbose bool
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
			if o.Verbose {
				writeRecord(w, &u)
			}
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("prune build cache: %w", err)
	}
	if len(ids) > 0 && !o.Verbose {
		fmt.Fprintln(w, "Deleted build cache objects:")
		for _, id := range ids {
			fmt.Fprintln(w, id)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Total reclaimed space: %s\n", units.HumanSize(float64(total)))
	return nil
}

// pruneOptions are o as BuildKit's prune takes them: the filters as
// recordFilter converts them, the space limits as buildx passes them.
func pruneOptions(o PruneOptions) ([]client.PruneOption, error) {
	keep, bk, err := recordFilter(o.Filters)
	if err != nil {
		return nil, err
	}
	reserved := o.ReservedSpace
	if reserved == 0 {
		reserved = o.KeepStorage // buildx's older name for it
	}
	opts := []client.PruneOption{client.WithKeepOpt(keep, reserved, o.MaxUsedSpace, o.MinFreeSpace)}
	if len(bk) > 0 {
		opts = append(opts, client.WithFilter(bk))
	}
	if o.All {
		opts = append(opts, client.PruneAll)
	}
	return opts, nil
}

// recordFilter converts --filter values for cache records as docker's
// daemon and buildx convert them: until= (or unused-for=) is a duration
// the records kept were used within; id= matches a prefix; the other keys
// are BuildKit's record fields (parent is its "parents"), in BuildKit's
// filter syntax (nil when none).
func recordFilter(values []string) (keep time.Duration, bk []string, err error) {
	f, err := filters.Parse(values, "until", "unused-for", "id", "parent", "type", "description", "inuse", "shared", "private")
	if err != nil {
		return 0, nil, err
	}
	for _, key := range []string{"until", "unused-for"} {
		switch vs := f[key]; len(vs) {
		case 0:
		case 1:
			if keep, err = time.ParseDuration(vs[0]); err != nil {
				return 0, nil, fmt.Errorf("--filter %s=%s: want a duration (24h)", key, vs[0])
			}
		default:
			return 0, nil, fmt.Errorf("--filter %s: give one value", key)
		}
	}
	var fields []string
	for _, key := range []string{"id", "parent", "type", "description", "inuse", "shared", "private"} {
		vs := f[key]
		field := key
		if key == "parent" {
			field = "parents"
		}
		switch {
		case len(vs) > 1:
			return 0, nil, fmt.Errorf("--filter %s: give one value", key)
		case len(vs) == 0:
		case key == "inuse" || key == "shared" || key == "private":
			// Flags, which BuildKit matches by presence.
			if v := strings.ToLower(vs[0]); v != "" && v != "true" && v != "1" {
				return 0, nil, fmt.Errorf("--filter %s=%s: want %s=true (%s)", key, vs[0], key, map[string]string{"inuse": "none for unused records: prune keeps records in use", "shared": "or private=true", "private": "or shared=true"}[key])
			}
			fields = append(fields, field)
		case key == "id":
			fields = append(fields, field+"~="+vs[0])
		default:
			fields = append(fields, field+"=="+vs[0])
		}
	}
	if len(fields) > 0 {
		bk = []string{strings.Join(fields, ",")}
	}
	return keep, bk, nil
}

// Usage sums the build cache: records, those in use, size and what a
// prune could reclaim.
type Usage struct {
	Total, Active     int
	Size, Reclaimable int64
	// Records are the records themselves, for system df -v's table.
	Records []*client.UsageInfo
}

// DiskUsage reads the solver's cache records.
func DiskUsage(ctx context.Context, c *client.Client) (Usage, error) {
	var u Usage
	recs, err := c.DiskUsage(ctx)
	if err != nil {
		return u, fmt.Errorf("read build cache usage: %w", err)
	}
	u.Records = recs
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
