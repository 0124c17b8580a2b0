package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeImages is an image store in memory: one image, the leases taken
// and released, and a Lease that fails on demand.
type fakeImages struct {
	details   store.Details
	leases    map[string]bool
	leaseErr  error
	gateOpen  int
	contentCS content.Store
}

func (f *fakeImages) List(context.Context) ([]store.Image, error) { return nil, nil }
func (f *fakeImages) Lookup(_ context.Context, ref string) (store.Image, store.Details, error) {
	if ref != "img" {
		return store.Image{}, store.Details{}, store.ErrNotFound
	}
	return store.Image{Name: "docker.io/library/img:latest", Target: ocispec.Descriptor{Digest: digest.FromString("m")}}, f.details, nil
}
func (f *fakeImages) Details(context.Context, ocispec.Descriptor) (store.Details, error) {
	return f.details, nil
}
func (f *fakeImages) LayerSizes(context.Context, store.Details) ([]int64, error) { return nil, nil }
func (f *fakeImages) ForPlatform(context.Context, ocispec.Descriptor, string) (ocispec.Descriptor, store.Details, error) {
	return ocispec.Descriptor{}, store.Details{}, errors.New("no platforms here")
}
func (f *fakeImages) Lease(_ context.Context, id string, _ ...ocispec.Descriptor) error {
	if f.leaseErr != nil {
		return f.leaseErr
	}
	f.leases[id] = true
	return nil
}
func (f *fakeImages) Release(_ context.Context, id string) error { delete(f.leases, id); return nil }
func (f *fakeImages) Writing(context.Context) (func(), error) {
	f.gateOpen++
	done := false
	return func() {
		if !done {
			done = true
			f.gateOpen--
		}
	}, nil
}
func (f *fakeImages) Content() content.Store { return f.contentCS }

// A failed create leaves no record, no name, no lease and the gate
// closed, whether it fails before or after the record is saved; and a
// name in use is refused without touching the container that holds it.
func TestCreateRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := ocispec.Image{Config: ocispec.ImageConfig{Cmd: []string{"true"}}}
	// One layer in the manifest and none in the config: unpacking fails,
	// after the record was saved.
	broken := store.Details{Config: cfg, ConfigDesc: ocispec.Descriptor{Digest: digest.FromString("c")},
		Manifest: ocispec.Manifest{Layers: []ocispec.Descriptor{{Digest: digest.FromString("l")}}}}
	for _, c := range []struct {
		name     string
		leaseErr error
		image    string
		want     string
	}{
		{"no such image", nil, "nosuch", "No such image: nosuch"},
		{"lease fails", errors.New("disk full"), "img", "disk full"},
		{"unpack fails after the record", nil, "img", "diff IDs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			f := &fakeImages{details: broken, leases: map[string]bool{}, leaseErr: c.leaseErr}
			p := records{Paths: NewPaths(root), images: f}
			_, _, err := create(ctx, p, RunOptions{Image: c.image, Name: "web", Network: NetNone})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("create: %v; want %q", err, c.want)
			}
			if left, _ := os.ReadDir(filepath.Join(root, "containers")); len(left) > 1 || len(left) == 1 && left[0].Name() != "names" {
				t.Errorf("left in containers/: %v", left)
			}
			if names, _ := os.ReadDir(p.names()); len(names) != 0 {
				t.Errorf("a name is still reserved: %v", names)
			}
			if len(f.leases) != 0 || f.gateOpen != 0 {
				t.Errorf("leases %v, gate open %d", f.leases, f.gateOpen)
			}
		})
	}
	t.Run("name in use", func(t *testing.T) {
		root := t.TempDir()
		f := &fakeImages{details: broken, leases: map[string]bool{}}
		p := records{Paths: NewPaths(root), images: f}
		if err := p.reserveName("web", "owner"); err != nil {
			t.Fatal(err)
		}
		_, _, err := create(ctx, p, RunOptions{Image: "img", Name: "web", Network: NetNone})
		if err == nil || !strings.Contains(err.Error(), "already in use") {
			t.Fatalf("create: %v", err)
		}
		if owner, _ := os.ReadFile(p.nameFile("web")); string(owner) != "owner" {
			t.Errorf("the name's owner became %q", owner)
		}
	})
}
