package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/builder-dev/builder/format"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// InspectImage is docker's `image inspect` JSON for one image.
type InspectImage struct {
	ID            string          `json:"Id"`
	RepoTags      []string        `json:"RepoTags"`
	RepoDigests   []string        `json:"RepoDigests"`
	Parent        string          `json:"Parent"`
	Comment       string          `json:"Comment"`
	Created       string          `json:"Created"`
	DockerVersion string          `json:"DockerVersion"`
	Author        string          `json:"Author"`
	Config        json.RawMessage `json:"Config"`
	Architecture  string          `json:"Architecture"`
	Variant       string          `json:"Variant,omitempty"`
	Os            string          `json:"Os"`
	Size          int64           `json:"Size"`
	RootFS        struct {
		Type   string   `json:"Type"`
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
	Metadata struct {
		LastTagTime string `json:"LastTagTime"`
	} `json:"Metadata"`
}

// rawConfig keeps docker's extension fields (Healthcheck, OnBuild, Shell)
// that the OCI struct drops.
type rawConfig struct {
	Author  string          `json:"author"`
	Comment string          `json:"comment"`
	Config  json.RawMessage `json:"config"`
	History []ocispec.History
}

// Lookup finds ref in st and, for a platform ("" for this machine's), that
// platform's image of it: the image, and the manifest and details chosen.
func Lookup(ctx context.Context, st store.Catalog, ref, platform string) (store.Image, ocispec.Descriptor, store.Details, error) {
	img, d, err := st.Lookup(ctx, ref)
	if err != nil {
		return img, img.Target, d, store.NoSuchImageFor(err, ref)
	}
	if platform == "" {
		return img, img.Target, d, nil
	}
	m, d, err := st.ForPlatform(ctx, img.Target, platform)
	if err != nil {
		return img, m, d, fmt.Errorf("image %s: %w", ref, err)
	}
	return img, m, d, nil
}

// Inspect writes docker's inspect JSON (or --format applied to each) for
// refs; platform ("" for this machine's) picks one of a multi-platform image.
func Inspect(ctx context.Context, st *store.Store, refs []string, platform, tmplText string, w io.Writer) error {
	var out []InspectImage
	for _, ref := range refs {
		ii, err := InspectOne(ctx, st, ref, platform)
		if err != nil {
			return err
		}
		out = append(out, ii)
	}
	return format.Inspect(w, tmplText, out)
}

// InspectOne is docker's inspect object of the image ref names (a
// *store.NoSuchImage error when none).
func InspectOne(ctx context.Context, st *store.Store, ref, platform string) (InspectImage, error) {
	img, _, d, err := Lookup(ctx, st, ref, platform)
	if err != nil {
		return InspectImage{}, err
	}
	return inspect(ctx, st, img, d)
}

func inspect(ctx context.Context, st *store.Store, img store.Image, d store.Details) (InspectImage, error) {
	var ii InspectImage
	dt, err := content.ReadBlob(ctx, st.Content(), d.ConfigDesc)
	if err != nil {
		return ii, fmt.Errorf("read config %s: %w", d.ConfigDesc.Digest, err)
	}
	var rc rawConfig
	if err := json.Unmarshal(dt, &rc); err != nil {
		return ii, fmt.Errorf("parse config %s: %w", d.ConfigDesc.Digest, err)
	}
	ii.ID = d.ID()
	ii.RepoTags, ii.RepoDigests = []string{}, []string{}
	all, err := st.List(ctx)
	if err != nil {
		return ii, err
	}
	for _, other := range all {
		if other.Target.Digest == img.Target.Digest && other.Name != "" {
			ii.RepoTags = append(ii.RepoTags, familiarTag(other.Name))
			if rd := other.Target.Annotations[store.AnnotationRepoDigest]; rd != "" && !contains(ii.RepoDigests, familiarDigest(rd)) {
				ii.RepoDigests = append(ii.RepoDigests, familiarDigest(rd))
			}
			if t := other.Target.Annotations[store.AnnotationTagged]; t > ii.Metadata.LastTagTime {
				ii.Metadata.LastTagTime = t
			}
		}
	}
	ii.Comment = rc.Comment
	if ii.Comment == "" && len(rc.History) > 0 {
		ii.Comment = rc.History[len(rc.History)-1].Comment
	}
	if c := d.Created(); !c.IsZero() {
		ii.Created = c.UTC().Format(time.RFC3339Nano)
	}
	ii.Author = rc.Author
	ii.Config = rc.Config
	if len(ii.Config) == 0 {
		ii.Config = json.RawMessage("{}")
	}
	ii.Architecture, ii.Variant, ii.Os = d.Config.Architecture, d.Config.Variant, d.Config.OS
	ii.Size = d.Size
	ii.RootFS.Type = "layers"
	for _, l := range d.Config.RootFS.DiffIDs {
		ii.RootFS.Layers = append(ii.RootFS.Layers, l.String())
	}
	if ii.Metadata.LastTagTime == "" {
		ii.Metadata.LastTagTime = "0001-01-01T00:00:00Z"
	}
	return ii, nil
}

// HistoryOptions are `builder history` flags.
type HistoryOptions struct {
	// Platform picks one image of a multi-platform one.
	Platform string
	Human    bool
	NoTrunc  bool
	Quiet    bool
	Format   string
}

// HistoryRow is one line of `builder history`; --format templates see it.
type HistoryRow struct {
	ID           string
	CreatedSince string
	CreatedAt    string
	CreatedBy    string
	Size         string
	Comment      string
}

// History writes an image's history, newest first, as docker does.
func History(ctx context.Context, st store.Catalog, ref string, o HistoryOptions, w io.Writer) error {
	_, _, d, err := Lookup(ctx, st, ref, o.Platform)
	if err != nil {
		return err
	}
	sizes, err := st.LayerSizes(ctx, d)
	if err != nil {
		return err
	}
	hist := d.Config.History
	rows := make([]HistoryRow, len(hist))
	layer := 0
	for i, h := range hist {
		var size int64
		if !h.EmptyLayer && layer < len(sizes) {
			size = sizes[layer]
			layer++
		}
		r := HistoryRow{ID: "<missing>", CreatedBy: strings.ReplaceAll(h.CreatedBy, "\t", " "), Comment: h.Comment}
		if h.Created != nil {
			r.CreatedAt = h.Created.Format(time.RFC3339)
			r.CreatedSince = units.HumanDuration(time.Now().UTC().Sub(*h.Created)) + " ago"
		}
		if o.Human {
			r.Size = units.HumanSizeWithPrecision(float64(size), 3)
		} else {
			r.Size = fmt.Sprint(size)
			r.CreatedSince = r.CreatedAt
		}
		if !o.NoTrunc {
			r.CreatedBy = format.Ellipsis(r.CreatedBy, 45)
		}
		rows[len(hist)-1-i] = r
	}
	if len(rows) > 0 {
		rows[0].ID = d.ID()
		if !o.NoTrunc {
			rows[0].ID = shortID(d.ID())
		}
	}
	f := format.Template(o.Format, o.Quiet, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}")
	return format.Rows(w, f, rows, map[string]string{"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
		"CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// familiarDigest shortens docker.io/library/nginx@sha256:... to nginx@sha256:...
func familiarDigest(rd string) string {
	named, err := reference.ParseNormalizedNamed(rd)
	if err != nil {
		return rd
	}
	return reference.FamiliarString(named)
}
