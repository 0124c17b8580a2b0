package frontend

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/solver/localsource"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	contentlocal "github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
)

// namedContexts are --build-context values turned into what the solve
// needs: frontend attributes, local directories, OCI layouts.
type namedContexts struct {
	attrs   map[string]string
	locals  map[string]fsutil.FS
	layouts map[string]string // store ID -> layout directory
}

// parseBuildContexts reads --build-context NAME=VALUE as buildx does. VALUE
// is a directory, docker-image://REF, oci-layout://PATH[:TAG][@DIGEST], a
// git or HTTP(S) URL, or the name of an image in the local store (where no
// such directory exists); docker-image:// of an image in the local store
// uses the stored image (unless --pull), as FROM does.
func parseBuildContexts(values []string, images []store.Image, pull bool) (*namedContexts, error) {
	nc := &namedContexts{attrs: map[string]string{}, locals: map[string]fsutil.FS{}, layouts: map[string]string{}}
	for i, s := range values {
		name, value, ok := strings.Cut(s, "=")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("--build-context %q: want NAME=VALUE", s)
		}
		named, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return nil, fmt.Errorf("--build-context %q: invalid name %q: %w", s, name, err)
		}
		key := "context:" + strings.TrimSuffix(reference.FamiliarString(reference.TagNameOnly(named)), ":latest")
		if _, dup := nc.attrs[key]; dup {
			return nil, fmt.Errorf("--build-context %q: %s is named twice", s, name)
		}
		switch {
		case strings.HasPrefix(value, "docker-image://"):
			ref := strings.TrimPrefix(value, "docker-image://")
			if _, err := reference.ParseNormalizedNamed(ref); err != nil {
				return nil, fmt.Errorf("--build-context %q: %w", s, err)
			}
			nc.attrs[key] = value
			if !pull {
				if d, ok := storedImage(images, ref); ok {
					nc.attrs[key] = storeContext(d)
				}
			}
		case strings.HasPrefix(value, "oci-layout://"):
			id := fmt.Sprintf("build-context-%d", i)
			dir, d, err := ociLayout(strings.TrimPrefix(value, "oci-layout://"))
			if err != nil {
				return nil, fmt.Errorf("--build-context %q: %w", s, err)
			}
			nc.layouts[id] = dir
			nc.attrs[key] = "oci-layout://" + id + "@" + d.String()
		case isRemote(value):
			nc.attrs[key] = value
		case strings.Contains(value, "://"):
			return nil, fmt.Errorf("--build-context %q: unknown source (want a directory, docker-image://, oci-layout://, or a git or http(s) URL)", s)
		default:
			fi, err := os.Stat(value)
			if err != nil || !fi.IsDir() {
				// Not a directory: an image in the local store, by name.
				if d, ok := storedImage(images, value); ok {
					nc.attrs[key] = storeContext(d)
					continue
				}
				return nil, fmt.Errorf("--build-context %q: %s is neither a directory nor an image in the local store", s, value)
			}
			fs, err := localsource.NewFS(value)
			if err != nil {
				return nil, fmt.Errorf("--build-context %q: %w", s, err)
			}
			local := fmt.Sprintf("build-context-%d", i)
			nc.locals[local] = fs
			nc.attrs[key] = "local:" + local
		}
	}
	return nc, nil
}

// storedImage finds ref among the store's named images.
func storedImage(images []store.Image, ref string) (digest.Digest, bool) {
	name, err := store.ParseName(ref)
	if err != nil {
		return "", false
	}
	for _, img := range images {
		if img.Name == name {
			return img.Target.Digest, true
		}
	}
	return "", false
}

// ociLayout resolves PATH[:TAG][@DIGEST] to the layout directory and the
// digest of the image it names: the digest given, else the manifest whose
// ref.name annotation is TAG (default latest), else the layout's only one.
func ociLayout(spec string) (string, digest.Digest, error) {
	path, dgst, _ := strings.Cut(spec, "@")
	tag := ""
	if i := strings.LastIndex(path, ":"); i > strings.LastIndex(path, "/") {
		path, tag = path[:i], path[i+1:]
	}
	dt, err := os.ReadFile(filepath.Join(path, "index.json"))
	if err != nil {
		return "", "", fmt.Errorf("read OCI layout %s: %w", path, err)
	}
	if dgst != "" {
		d, err := digest.Parse(dgst)
		if err != nil {
			return "", "", fmt.Errorf("oci-layout digest %q: %w", dgst, err)
		}
		return path, d, nil
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return "", "", fmt.Errorf("read OCI layout %s: %w", path, err)
	}
	want := tag
	if want == "" {
		want = "latest"
	}
	for _, m := range idx.Manifests {
		if m.Annotations[ocispec.AnnotationRefName] == want {
			return path, m.Digest, nil
		}
	}
	if tag == "" && len(idx.Manifests) == 1 {
		return path, idx.Manifests[0].Digest, nil
	}
	return "", "", fmt.Errorf("OCI layout %s has no image tagged %q (name one with :TAG or @DIGEST)", path, want)
}

// openLayouts opens the OCI layouts named contexts read from.
func openLayouts(layouts map[string]string) (map[string]content.Store, error) {
	out := map[string]content.Store{}
	for id, dir := range layouts {
		cs, err := contentlocal.NewStore(dir)
		if err != nil {
			return nil, fmt.Errorf("open OCI layout %s: %w", dir, err)
		}
		out[id] = cs
	}
	return out, nil
}
