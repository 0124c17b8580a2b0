// Package images holds the image verbs over the local store: list, tag,
// rm, inspect, history, save, load, import and prune.
package images

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/builder-dev/builder/filters"
	"github.com/builder-dev/builder/format"

	"github.com/builder-dev/builder/store"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
)

// ListOptions are `builder images` flags.
type ListOptions struct {
	// Reference, when set, lists only images whose repository (or
	// repository:tag) matches it, as `docker images REPO[:TAG]` does.
	Reference string
	Quiet     bool
	NoTrunc   bool
	Digests   bool
	Format    string
	// Filters are docker's: dangling=, label=, before=, since=, reference=.
	Filters []string
}

// Row is one line of the listing; its fields are what --format templates
// see, named as docker names them.
type Row struct {
	Repository   string
	Tag          string
	ID           string
	Digest       string
	CreatedSince string
	CreatedAt    string
	Size         string
	created      time.Time
}

// List writes the store's images to w in docker's format.
func List(ctx context.Context, st store.Catalog, o ListOptions, w io.Writer) error {
	imgs, err := st.List(ctx)
	if err != nil {
		return err
	}
	match, err := matcher(o.Reference)
	if err != nil {
		return err
	}
	filter, err := listFilter(ctx, st, o.Filters)
	if err != nil {
		return err
	}
	var rows []Row
	for _, img := range imgs {
		if !match(img.Name) {
			continue
		}
		d, err := st.Details(ctx, img.Target)
		if err != nil {
			return fmt.Errorf("list %s: %w", displayName(img), err)
		}
		if !filter(img, d) {
			continue
		}
		repo, tag := store.RepoTag(img.Name)
		id := d.ID()
		if !o.NoTrunc {
			id = shortID(id)
		}
		r := Row{Repository: repo, Tag: tag, ID: id, Digest: img.Target.Digest.String(),
			Size: units.HumanSizeWithPrecision(float64(d.Size), 3), created: d.Created()}
		if !r.created.IsZero() {
			r.CreatedSince = units.HumanDuration(time.Now().UTC().Sub(r.created)) + " ago"
			r.CreatedAt = r.created.Local().Format("2006-01-02 15:04:05 -0700 MST")
		} else {
			r.CreatedSince, r.CreatedAt = "N/A", "N/A"
		}
		rows = append(rows, r)
	}
	// Newest first, then by name, as docker lists them.
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].created.Equal(rows[j].created) {
			return rows[i].created.After(rows[j].created)
		}
		return rows[i].Repository+":"+rows[i].Tag < rows[j].Repository+":"+rows[j].Tag
	})
	return write(w, rows, o)
}

func displayName(img store.Image) string {
	if img.Name == "" {
		return img.Target.Digest.String()
	}
	return store.FamiliarName(img.Name)
}

// shortID is docker's truncated ID: 12 hex digits, no algorithm.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

func matcher(ref string) (func(string) bool, error) {
	if ref == "" {
		return func(string) bool { return true }, nil
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %s", ref)
	}
	tagged, hasTag := named.(reference.Tagged)
	return func(name string) bool {
		n, err := reference.ParseNormalizedNamed(name)
		if err != nil || n.Name() != named.Name() {
			return false
		}
		if !hasTag {
			return true
		}
		t, ok := n.(reference.Tagged)
		return ok && t.Tag() == tagged.Tag()
	}, nil
}

const defaultTable = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

var listHeaders = map[string]string{
	"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Digest": "DIGEST",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
}

func write(w io.Writer, rows []Row, o ListOptions) error {
	table := defaultTable
	if o.Digests {
		table = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	}
	return format.Rows(w, format.Template(o.Format, o.Quiet, table), rows, listHeaders)
}

// listFilter turns docker's --filter values into one predicate.
func listFilter(ctx context.Context, st store.Catalog, in []string) (func(store.Image, store.Details) bool, error) {
	f, err := filters.Parse(in, "dangling", "label", "before", "since", "reference")
	if err != nil {
		return nil, err
	}
	dangling, byDangling, err := f.Bool("dangling")
	if err != nil {
		return nil, err
	}
	created := func(key string) (time.Time, error) {
		if len(f[key]) == 0 {
			return time.Time{}, nil
		}
		ref := f[key][len(f[key])-1]
		_, d, err := st.Lookup(ctx, ref)
		if err != nil {
			return time.Time{}, fmt.Errorf("--filter %s=%s: %w", key, ref, store.NoSuchImageFor(err, ref))
		}
		return d.Created(), nil
	}
	before, err := created("before")
	if err != nil {
		return nil, err
	}
	since, err := created("since")
	if err != nil {
		return nil, err
	}
	return func(img store.Image, d store.Details) bool {
		return (!byDangling || (img.Name == "") == dangling) &&
			f.Labels(d.Config.Config.Labels) &&
			(before.IsZero() || d.Created().Before(before)) &&
			(since.IsZero() || d.Created().After(since)) &&
			f.Any("reference", func(pattern string) bool { return matchReference(pattern, img.Name) })
	}, nil
}

// matchReference reports whether name matches reference=PATTERN as docker
// matches it: the familiar name, with or without its tag.
func matchReference(pattern, name string) bool {
	if name == "" {
		return false
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return false
	}
	ok, _ := reference.FamiliarMatch(pattern, named)
	if !ok {
		ok, _ = reference.FamiliarMatch(pattern, reference.TrimNamed(named))
	}
	return ok
}
