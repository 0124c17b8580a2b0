// Package diskusage is `builder system df`: what the image store, the
// containers, and the build cache hold, in docker's table.
package diskusage

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/container"
	"github.com/builder-dev/builder/store"
	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Sources are where the figures come from.
type Sources struct {
	Store      *store.Store
	Containers container.Manager
	// Cache is the build cache's usage, read from the solver.
	Cache cache.Usage
}

type image struct {
	store.Image
	details    store.Details
	blobs      map[digest.Digest]int64
	containers int
}

// usage is what the tables show.
type usage struct {
	imgs                []image
	ctrs                []container.Usage
	refs                map[digest.Digest]map[digest.Digest]bool // blob -> images reaching it
	distinct, used      int                                      // images, not names
	imgSize, imgReclaim int64
	running             int
	ctrSize, ctrReclaim int64
}

// Report writes docker's system df table, and with verbose its per-image
// and per-container tables.
func Report(ctx context.Context, src Sources, verbose bool, w io.Writer) error {
	u, err := gather(ctx, src)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	fmt.Fprintf(tw, "Images\t%d\t%d\t%s\t%s\n", u.distinct, u.used, size(u.imgSize), withPercent(u.imgReclaim, u.imgSize))
	fmt.Fprintf(tw, "Containers\t%d\t%d\t%s\t%s\n", len(u.ctrs), u.running, size(u.ctrSize), withPercent(u.ctrReclaim, u.ctrSize))
	fmt.Fprintf(tw, "Local Volumes\t0\t0\t0B\t0B\n")
	fmt.Fprintf(tw, "Build Cache\t%d\t%d\t%s\t%s\n", src.Cache.Total, src.Cache.Active, size(src.Cache.Size), size(src.Cache.Reclaimable))
	if err := tw.Flush(); err != nil || !verbose {
		return err
	}
	writeVerbose(w, u, src.Cache)
	return nil
}

// gather reads the store's images and the containers, and counts what is
// in use: what a container's lease holds, named or not.
func gather(ctx context.Context, src Sources) (*usage, error) {
	st := src.Store
	imgs, err := images(ctx, st)
	if err != nil {
		return nil, err
	}
	ctrs, layers, err := src.Containers.DiskUsage(ctx)
	if err != nil {
		return nil, err
	}
	u := &usage{imgs: imgs, ctrs: ctrs, refs: map[digest.Digest]map[digest.Digest]bool{}}
	for _, img := range imgs {
		for d := range img.blobs {
			if u.refs[d] == nil {
				u.refs[d] = map[digest.Digest]bool{}
			}
			u.refs[d][img.Target.Digest] = true
		}
	}
	for _, c := range ctrs {
		if d, err := digest.Parse(c.TargetDigest); err == nil {
			for i := range imgs {
				if imgs[i].Target.Digest == d {
					imgs[i].containers++
				}
			}
		}
	}
	leases, err := st.Leases(ctx)
	if err != nil {
		return nil, err
	}
	var held []ocispec.Descriptor
	for _, ts := range leases {
		held = append(held, ts...)
	}
	inUse, err := st.Reach(ctx, held...)
	if err != nil {
		return nil, fmt.Errorf("read images in use: %w", err)
	}
	total, err := st.BlobsSize(ctx)
	if err != nil {
		return nil, err
	}
	var usedBytes int64
	for _, n := range inUse {
		usedBytes += n
	}
	distinct, used := map[digest.Digest]bool{}, map[digest.Digest]bool{}
	for _, img := range imgs {
		distinct[img.Target.Digest] = true
		if img.containers > 0 {
			used[img.Target.Digest] = true
		}
	}
	u.distinct, u.used = len(distinct), len(used)
	for _, c := range ctrs {
		u.ctrSize += c.Size
		if c.Running {
			u.running++
		} else {
			u.ctrReclaim += c.Size
		}
	}
	u.imgSize = total + layers.Size
	u.imgReclaim = max(total-usedBytes+layers.Reclaimable, 0)
	return u, nil
}

// writeVerbose writes system df -v's tables after the summary.
func writeVerbose(w io.Writer, u *usage, c cache.Usage) {
	fmt.Fprint(w, "\nImages space usage:\n\n")
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
	for _, img := range u.imgs {
		var all, shared int64
		for d, n := range img.blobs {
			all += n
			if len(u.refs[d]) > 1 {
				shared += n
			}
		}
		repo, tag := "<none>", "<none>"
		if img.Name != "" {
			repo, tag = store.RepoTag(img.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", repo, tag, shortID(img.details.ID()), created(img.details),
			size(all), size(shared), size(all-shared), img.containers)
	}
	tw.Flush()
	fmt.Fprint(w, "\nContainers space usage:\n\n")
	tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES")
	for _, c := range u.ctrs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t0\t%s\t%s\t%s\t%s\n", c.ID, c.Image, c.Command, size(c.Size), c.RunningFor, c.Status, c.Names)
	}
	tw.Flush()
	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "VOLUME NAME\tLINKS\tSIZE")
	tw.Flush()
	fmt.Fprintf(w, "\nBuild cache usage: %s\n\n", size(c.Size))
	tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED")
	for _, r := range c.Records {
		id := shortID(r.ID)
		if r.InUse {
			id += "*"
		}
		last := ""
		if r.LastUsedAt != nil {
			last = units.HumanDuration(time.Since(*r.LastUsedAt)) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%t\n", id, r.RecordType, units.HumanSizeWithPrecision(float64(r.Size), 3),
			units.HumanDuration(time.Since(r.CreatedAt))+" ago", last, r.UsageCount, r.Shared)
	}
	tw.Flush()
}

// images lists the store's distinct images (a name each, or one <none>
// row per unnamed target) with the blobs each reaches.
func images(ctx context.Context, st *store.Store) ([]image, error) {
	list, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	named := map[digest.Digest]bool{}
	for _, img := range list {
		if img.Name != "" {
			named[img.Target.Digest] = true
		}
	}
	var out []image
	for _, img := range list {
		if img.Name == "" && named[img.Target.Digest] {
			continue
		}
		d, err := st.Details(ctx, img.Target)
		if err != nil {
			continue // an incomplete entry: nothing to count
		}
		blobs, err := st.Reach(ctx, img.Target)
		if err != nil {
			return nil, err
		}
		out = append(out, image{Image: img, details: d, blobs: blobs})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func size(n int64) string { return units.HumanSize(float64(n)) }

func withPercent(part, whole int64) string {
	if whole == 0 {
		return size(part)
	}
	return fmt.Sprintf("%s (%d%%)", size(part), part*100/whole)
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

func created(d store.Details) string {
	t := d.Created()
	if t.IsZero() {
		return "N/A"
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}
