package images

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/builder-dev/builder/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// memCatalog is an in-memory store.Catalog: images by name, each with its
// details.
type memCatalog struct {
	imgs    []store.Image
	details map[digest.Digest]store.Details
	sizes   map[digest.Digest][]int64
}

func (m *memCatalog) List(ctx context.Context) ([]store.Image, error) { return m.imgs, nil }

func (m *memCatalog) Lookup(ctx context.Context, ref string) (store.Image, store.Details, error) {
	name, _ := store.ParseName(ref)
	for _, img := range m.imgs {
		if img.Name == name || strings.HasPrefix(m.details[img.Target.Digest].ID(), "sha256:"+ref) {
			return img, m.details[img.Target.Digest], nil
		}
	}
	return store.Image{}, store.Details{}, fmt.Errorf("%w: %s", store.ErrNotFound, ref)
}

func (m *memCatalog) Details(ctx context.Context, target ocispec.Descriptor) (store.Details, error) {
	return m.details[target.Digest], nil
}

func (m *memCatalog) ForPlatform(ctx context.Context, target ocispec.Descriptor, platform string) (ocispec.Descriptor, store.Details, error) {
	d, err := m.Details(ctx, target)
	return target, d, err
}

func (m *memCatalog) LayerSizes(ctx context.Context, d store.Details) ([]int64, error) {
	return m.sizes[d.ConfigDesc.Digest], nil
}

// add records an image created at t with labels and layer sizes.
func (m *memCatalog) add(name string, t time.Time, labels map[string]string, hist []ocispec.History, sizes ...int64) store.Details {
	cfgDigest := digest.FromString(name + t.String())
	target := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("manifest of " + name + t.String())}
	d := store.Details{ConfigDesc: ocispec.Descriptor{Digest: cfgDigest}}
	d.Config.Created = &t
	d.Config.Config.Labels = labels
	d.Config.History = hist
	for _, n := range sizes {
		d.Size += n
	}
	m.imgs = append(m.imgs, store.Image{Name: name, Target: target})
	m.details[target.Digest] = d
	m.sizes[cfgDigest] = sizes
	return d
}

func newCatalog() *memCatalog {
	return &memCatalog{details: map[digest.Digest]store.Details{}, sizes: map[digest.Digest][]int64{}}
}

func TestListTableAndFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newCatalog()
	now := time.Now().UTC()
	old := m.add("docker.io/library/busybox:latest", now.Add(-48*time.Hour), nil, nil, 4_400_000)
	m.add("docker.io/library/app:v1", now.Add(-time.Hour), map[string]string{"team": "a"}, nil, 1000)
	m.add("", now.Add(-2*time.Hour), nil, nil, 10)

	list := func(o ListOptions) string {
		t.Helper()
		var b bytes.Buffer
		if err := List(ctx, m, o, &b); err != nil {
			t.Fatalf("List(%+v): %v", o, err)
		}
		return b.String()
	}
	out := list(ListOptions{})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "REPOSITORY   TAG       IMAGE ID       CREATED") {
		t.Fatalf("table:\n%s", out)
	}
	// Newest first; a dangling image as <none> <none>; familiar names.
	for i, want := range []string{"app          v1 ", "<none>       <none>", "busybox      latest"} {
		if !strings.HasPrefix(lines[i+1], want) {
			t.Errorf("row %d: %q, want it to start with %q", i+1, lines[i+1], want)
		}
	}
	if !strings.Contains(lines[3], "4.4MB") || !strings.Contains(lines[3], "2 days ago") {
		t.Errorf("busybox row: %q", lines[3])
	}
	if got := list(ListOptions{Quiet: true, Filters: []string{"dangling=true"}}); strings.TrimSpace(got) == "" || strings.Count(got, "\n") != 1 {
		t.Errorf("-q --filter dangling=true: %q", got)
	}
	if got := list(ListOptions{Format: "{{.Repository}}", Filters: []string{"label=team=a"}}); got != "app\n" {
		t.Errorf("--filter label=team=a: %q", got)
	}
	if got := list(ListOptions{Format: "{{.Repository}}:{{.Tag}}", Filters: []string{"since=busybox"}}); got != "app:v1\n<none>:<none>\n" {
		t.Errorf("--filter since=busybox: %q", got)
	}
	if got := list(ListOptions{Format: "{{.Repository}}", Filters: []string{"reference=bus*"}}); got != "busybox\n" {
		t.Errorf("--filter reference=bus*: %q", got)
	}
	if got := list(ListOptions{Format: "{{.ID}}", NoTrunc: true, Reference: "busybox"}); got != old.ID()+"\n" {
		t.Errorf("images busybox --no-trunc: %q", got)
	}
	for _, bad := range []string{"dangling=maybe", "nosuch=1", "before=nosuchimage", "label"} {
		var b bytes.Buffer
		if err := List(ctx, m, ListOptions{Filters: []string{bad}}, &b); err == nil || b.Len() != 0 {
			t.Errorf("--filter %s: err %v, printed %q", bad, err, b.String())
		}
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	m := newCatalog()
	t0 := time.Now().UTC().Add(-time.Hour)
	d := m.add("docker.io/library/app:latest", t0, nil, []ocispec.History{
		{Created: &t0, CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "},
		{Created: &t0, CreatedBy: "/bin/sh -c #(nop)  CMD [\"sh\"]", EmptyLayer: true},
		{Created: &t0, CreatedBy: "RUN /bin/sh -c echo hi > /f # buildkit", Comment: "buildkit.dockerfile.v0"},
	}, 2_000_000, 3)
	var b bytes.Buffer
	if err := History(context.Background(), m, "app", HistoryOptions{Human: true}, &b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "IMAGE CREATED CREATED BY SIZE COMMENT" {
		t.Fatalf("history:\n%s", b.String())
	}
	// Newest first; only the newest row has the image's ID; sizes follow
	// the non-empty layers.
	if !strings.HasPrefix(lines[1], shortID(d.ID())) || !strings.Contains(lines[1], "3B") || !strings.Contains(lines[1], "buildkit.dockerfile.v0") {
		t.Errorf("newest row: %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], "<missing>") || !strings.Contains(lines[2], "0B") {
		t.Errorf("empty layer row: %q", lines[2])
	}
	if !strings.Contains(lines[3], "2MB") {
		t.Errorf("base row: %q", lines[3])
	}
	if err := History(context.Background(), m, "nosuch", HistoryOptions{}, &b); err == nil || !strings.Contains(err.Error(), "No such image: nosuch") {
		t.Errorf("history of an unknown image: %v", err)
	}
}
