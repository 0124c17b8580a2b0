package images

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/klauspost/compress/gzip"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImportOptions are `builder import` flags and arguments.
type ImportOptions struct {
	// Source is a file, an http(s) URL, or "-" for Stdin.
	Source   string
	Ref      string
	Changes  []string
	Message  string
	Platform string
	Stdin    io.Reader
	Stdout   io.Writer
}

// Import makes a one-layer image from a root filesystem tarball (plain,
// gzip or zstd) and prints its ID, as docker import does.
func Import(ctx context.Context, st *store.Store, o ImportOptions) error {
	var name string
	if o.Ref != "" {
		n, err := store.ParseName(o.Ref)
		if err != nil {
			return err
		}
		name = n
	}
	plat := platforms.DefaultSpec()
	if o.Platform != "" {
		p, err := platforms.Parse(o.Platform)
		if err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
		plat = p
	}
	var cfg ocispec.ImageConfig
	for _, c := range o.Changes {
		if err := applyChange(&cfg, c); err != nil {
			return fmt.Errorf("--change %q: %w", c, err)
		}
	}
	src, err := openSource(ctx, o)
	if err != nil {
		return err
	}
	defer src.Close()

	done, err := st.Writing(ctx)
	if err != nil {
		return err
	}
	defer done()
	layer, diffID, err := writeLayer(ctx, st.Content(), src)
	if err != nil {
		st.GC(ctx)
		return fmt.Errorf("import %s: %w", o.Source, err)
	}
	now := time.Now().UTC()
	comment := o.Message
	if comment == "" {
		comment = "Imported from " + o.Source
	}
	img := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant},
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &now, Comment: comment}},
	}
	configDesc, err := writeJSON(ctx, st.Content(), ocispec.MediaTypeImageConfig, img)
	if err != nil {
		return err
	}
	manifest := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: configDesc, Layers: []ocispec.Descriptor{layer}}
	target, err := writeJSON(ctx, st.Content(), ocispec.MediaTypeImageManifest, manifest)
	if err != nil {
		return err
	}
	target.Platform = &img.Platform
	if name == "" {
		err = st.AddDangling(ctx, target)
	} else {
		err = st.Tag(ctx, name, target)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Stdout, configDesc.Digest)
	return nil
}

func openSource(ctx context.Context, o ImportOptions) (io.ReadCloser, error) {
	switch {
	case o.Source == "-":
		return io.NopCloser(o.Stdin), nil
	case strings.HasPrefix(o.Source, "http://") || strings.HasPrefix(o.Source, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.Source, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", o.Source, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("import %s: %s", o.Source, resp.Status)
		}
		return resp.Body, nil
	default:
		f, err := os.Open(o.Source)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		return f, nil
	}
}

// writeLayer stores src (decompressed, checked to be a tar archive) as a
// gzip layer, returning its descriptor and diff ID.
func writeLayer(ctx context.Context, cs content.Store, src io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	raw, err := decompress(src)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	defer raw.Close()
	pr, pw := io.Pipe()
	diffIDs := digest.Canonical.Digester()
	go func() {
		// Reading through tar.Reader checks that this is a tar archive;
		// everything read, padding included, goes to the layer.
		tee := io.TeeReader(raw, io.MultiWriter(diffIDs.Hash(), pw))
		tr := tar.NewReader(tee)
		n := 0
		for {
			_, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				pw.CloseWithError(fmt.Errorf("not a tar archive: %w", err))
				return
			}
			n++
		}
		if n == 0 {
			pw.CloseWithError(errors.New("not a tar archive: no entries"))
			return
		}
		_, err := io.Copy(io.Discard, tee)
		pw.CloseWithError(err)
	}()
	ref := fmt.Sprintf("import-%d", time.Now().UnixNano())
	w, err := content.OpenWriter(ctx, cs, content.WithRef(ref))
	if err != nil {
		pr.CloseWithError(err)
		return ocispec.Descriptor{}, "", err
	}
	defer w.Close()
	gz := gzip.NewWriter(w)
	if _, err := io.Copy(gz, pr); err != nil {
		return ocispec.Descriptor{}, "", err
	}
	if err := gz.Close(); err != nil {
		return ocispec.Descriptor{}, "", err
	}
	dgst := w.Digest()
	st, err := w.Status()
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	if err := w.Commit(ctx, st.Offset, dgst); err != nil && !isExists(err) {
		return ocispec.Descriptor{}, "", err
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: dgst, Size: st.Offset}, diffIDs.Digest(), nil
}

func writeJSON(ctx context.Context, cs content.Store, mediaType string, v any) (ocispec.Descriptor, error) {
	dt, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	if err := content.WriteBlob(ctx, cs, "import-"+desc.Digest.String(), strings.NewReader(string(dt)), desc); err != nil {
		return desc, err
	}
	return desc, nil
}

// applyChange applies one Dockerfile instruction of those docker import
// accepts, parsed by BuildKit's own Dockerfile parser.
func applyChange(cfg *ocispec.ImageConfig, change string) error {
	res, err := parser.Parse(strings.NewReader(change))
	if err != nil {
		return err
	}
	if len(res.AST.Children) != 1 {
		return errors.New("want exactly one instruction")
	}
	cmd, err := instructions.ParseInstruction(res.AST.Children[0])
	if err != nil {
		return err
	}
	shell := func(c instructions.ShellDependantCmdLine) []string {
		if c.PrependShell {
			return []string{"/bin/sh", "-c", strings.Join(c.CmdLine, " ")}
		}
		return c.CmdLine
	}
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = shell(c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = shell(c.ShellDependantCmdLine)
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = c.Path
	default:
		return fmt.Errorf("import does not support %s (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR)",
			strings.ToUpper(res.AST.Children[0].Value))
	}
	return nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func isExists(err error) bool { return errdefs.IsAlreadyExists(err) }
