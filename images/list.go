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

// listFilter turns docker's --filter values into one predicate; values of
// the same key are alternatives, different keys must all hold.
func listFilter(ctx context.Context, st store.Catalog, in []string) (func(store.Image, store.Details) bool, error) {
	byKey := map[string][]func(store.Image, store.Details) bool{}
	for _, f := range in {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--filter %q: want key=value", f)
		}
		var pred func(store.Image, store.Details) bool
		switch k {
		case "dangling":
			want := v == "true" || v == "1"
			if !want && v != "false" && v != "0" {
				return nil, fmt.Errorf("--filter dangling=%s: want true or false", v)
			}
			pred = func(img store.Image, _ store.Details) bool { return (img.Name == "") == want }
		case "label":
			lk, lv, hasValue := strings.Cut(v, "=")
			pred = func(_ store.Image, d store.Details) bool {
				got, ok := d.Config.Config.Labels[lk]
				return ok && (!hasValue || got == lv)
			}
		case "before", "since":
			_, ref, err := st.Lookup(ctx, v)
			if err != nil {
				return nil, fmt.Errorf("--filter %s: %w", f, noSuchImage(err, v))
			}
			at, before := ref.Created(), k == "before"
			pred = func(_ store.Image, d store.Details) bool {
				if before {
					return d.Created().Before(at)
				}
				return d.Created().After(at)
			}
		case "reference":
			pattern := v
			pred = func(img store.Image, _ store.Details) bool {
				if img.Name == "" {
					return false
				}
				named, err := reference.ParseNormalizedNamed(img.Name)
				if err != nil {
					return false
				}
				ok, _ := reference.FamiliarMatch(pattern, named)
				if !ok {
					ok, _ = reference.FamiliarMatch(pattern, reference.TrimNamed(named))
				}
				return ok
			}
		default:
			return nil, fmt.Errorf("--filter %q: unsupported filter %q (dangling, label, before, since, reference)", f, k)
		}
		byKey[k] = append(byKey[k], pred)
	}
	return func(img store.Image, d store.Details) bool {
		for _, preds := range byKey {
			any := false
			for _, p := range preds {
				any = any || p(img, d)
			}
			if !any {
				return false
			}
		}
		return true
	}, nil
}
