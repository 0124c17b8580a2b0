package store

import (
	"context"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Name records several images in one index update: a build's several -t,
// a load's several images. Names move as Tag moves them, and an image that
// loses its last name stays, dangling.
func TestName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.WriteJSON(ctx, ocispec.MediaTypeImageManifest, map[string]string{"a": "1"})
	b, _ := s.WriteJSON(ctx, ocispec.MediaTypeImageManifest, map[string]string{"b": "2"})
	c, _ := s.WriteJSON(ctx, ocispec.MediaTypeImageManifest, map[string]string{"c": "3"})
	if err := s.Name(ctx, Image{Name: "docker.io/library/app:1", Target: a}, Image{Name: "docker.io/library/app:latest", Target: a},
		Image{Target: b}); err != nil {
		t.Fatal(err)
	}
	list := func() map[string]string {
		imgs, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, img := range imgs {
			out[img.Name+"@"+img.Target.Digest.Encoded()[:6]] = ""
		}
		return out
	}
	got := list()
	for _, want := range []string{"docker.io/library/app:1@" + a.Digest.Encoded()[:6], "docker.io/library/app:latest@" + a.Digest.Encoded()[:6], "@" + b.Digest.Encoded()[:6]} {
		if _, ok := got[want]; !ok {
			t.Errorf("after Name: %v lacks %s", got, want)
		}
	}
	if len(got) != 3 {
		t.Errorf("after Name: %v", got)
	}
	// Moving both names to c leaves a dangling; b keeps its dangling entry,
	// once; naming b gives that entry its name.
	if err := s.Name(ctx, Image{Name: "docker.io/library/app:1", Target: c}, Image{Name: "docker.io/library/app:latest", Target: c},
		Image{Name: "docker.io/library/other:latest", Target: b}); err != nil {
		t.Fatal(err)
	}
	got = list()
	for _, want := range []string{"@" + a.Digest.Encoded()[:6], "docker.io/library/other:latest@" + b.Digest.Encoded()[:6],
		"docker.io/library/app:1@" + c.Digest.Encoded()[:6], "docker.io/library/app:latest@" + c.Digest.Encoded()[:6]} {
		if _, ok := got[want]; !ok {
			t.Errorf("after moving names: %v lacks %s", got, want)
		}
	}
	if len(got) != 4 {
		t.Errorf("after moving names: %v", got)
	}
}

// A short name is shown only where it means the same image: a Docker Hub
// repository whose first part looks like a registry keeps docker.io/.
func TestFamiliarName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, familiar, repo string }{
		{"docker.io/library/hello:latest", "hello", "hello"},
		{"docker.io/library/nginx:1.20.0", "nginx:1.20.0", "nginx"},
		{"quay.io/bitnami/nginx:latest", "quay.io/bitnami/nginx", "quay.io/bitnami/nginx"},
		{"docker.io/user/app:v1", "user/app:v1", "user/app"},
		{"docker.io/0.0/0:latest", "docker.io/0.0/0", "docker.io/0.0/0"},
		{"docker.io/localhost/x:1", "docker.io/localhost/x:1", "docker.io/localhost/x"},
		{"localhost/x:latest", "localhost/x", "localhost/x"},
	} {
		if got := FamiliarName(c.name); got != c.familiar {
			t.Errorf("FamiliarName(%q) = %q, want %q", c.name, got, c.familiar)
		}
		if repo, _ := RepoTag(c.name); repo != c.repo {
			t.Errorf("RepoTag(%q) repo = %q, want %q", c.name, repo, c.repo)
		}
	}
}
