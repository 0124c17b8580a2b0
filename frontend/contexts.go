package frontend

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/internal/interrupt"
	"github.com/builder-dev/builder/solver/localsource"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	contentlocal "github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/distribution/reference"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session/upload/uploadprovider"
	"github.com/moby/buildkit/util/archiveutil"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
)

// isRemote reports whether a build context is fetched by the solver (a git
// repository or an HTTP(S) tarball or Dockerfile) rather than sent from
// here; BuildKit's Dockerfile frontend tells git from HTTP itself.
func isRemote(s string) bool {
	for _, p := range []string{"http://", "https://", "git://", "git@", "ssh://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// stdinContext reads `builder build -`: a tar archive (plain or
// compressed) is the context, served to the solver through the session as
// buildx does; anything else is a Dockerfile with an empty context, as
// `docker build - < Dockerfile` has.
func stdinContext(ctx context.Context, stdin io.Reader) (archive io.ReadCloser, dockerfile []byte, err error) {
	br := bufio.NewReaderSize(interrupt.Reader(ctx, stdin), 64<<10)
	head, err := br.Peek(1024)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, nil, fmt.Errorf("read context from stdin: %w", err)
	}
	if len(head) == 0 {
		return nil, nil, fmt.Errorf("read context from stdin: nothing on stdin (want a tar archive or a Dockerfile)")
	}
	if archiveutil.IsArchive(head) {
		return io.NopCloser(br), nil, nil
	}
	dt, err := readDockerfile(br) // br gives way to ctx already
	if err != nil {
		return nil, nil, fmt.Errorf("read Dockerfile from stdin: %w", err)
	}
	return nil, dt, nil
}

// uploadContext offers archive to the solver and returns the URL the
// frontend fetches it by.
func uploadContext(archive io.ReadCloser) (*uploadprovider.Uploader, string) {
	up := uploadprovider.New()
	return up, up.Add(archive)
}

// frontendFunc runs BuildKit's Dockerfile frontend, here, on the solver's
// gateway, for a build offered stored images as bases (StoreBases).
// dockerfile is nil for a context the solver fetches (git, HTTP): it is
// read through the gateway first, for its stages and its `# syntax=` line,
// where one the compiled-in frontend serves is built offline, as for a
// local context.
func frontendFunc(bases map[string]store.Image, df []byte) gwclient.BuildFunc {
	return func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		src := df
		if src == nil {
			bc, err := dockerui.NewClient(c)
			if err != nil {
				return nil, err
			}
			_, hasCmdline := bc.BuildOpts().Opts["cmdline"]
			if !hasCmdline || len(bases) > 0 {
				f, err := bc.ReadEntrypoint(ctx, "Dockerfile")
				if err != nil {
					return nil, err
				}
				src = f.Data
			}
			if ref, _, _, ok := parser.DetectSyntax(src); ok && !hasCmdline && EmbeddedServes(ref) {
				c = withAttr{Client: c, key: "cmdline", value: ref}
			}
		}
		return dockerfile.Build(ctx, withStoreBases(c, bases, src))
	}
}

// withAttr adds one frontend attribute to a gateway client's options.
type withAttr struct {
	gwclient.Client
	key, value string
}

func (c withAttr) BuildOpts() gwclient.BuildOpts {
	o := c.Client.BuildOpts()
	opts := make(map[string]string, len(o.Opts)+1)
	for k, v := range o.Opts {
		opts[k] = v
	}
	opts[c.key] = c.value
	o.Opts = opts
	return o
}

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
