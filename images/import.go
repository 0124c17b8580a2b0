package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/builder-dev/builder/image"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
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
		if err := image.ApplyChange(&cfg, c); err != nil {
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
	layer, diffID, err := writeLayer(ctx, st, src)
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
	target, configDesc, err := image.Write(ctx, st, img, img.Platform, []ocispec.Descriptor{layer})
	if err != nil {
		return fmt.Errorf("import %s: %w", o.Source, err)
	}
	if err := st.Name(ctx, store.Image{Name: name, Target: target}); err != nil {
		return fmt.Errorf("import %s: %w", o.Source, err)
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
func writeLayer(ctx context.Context, st store.LayerWriter, src io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	raw, err := store.Decompress(src)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	defer raw.Close()
	pr, pw := io.Pipe()
	go func() {
		// Reading through tar.Reader checks that this is a tar archive;
		// everything read, padding included, goes to the layer.
		tee := io.TeeReader(raw, pw)
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
	desc, diffID, err := st.WriteLayer(ctx, pr)
	pr.CloseWithError(err)
	return desc, diffID, err
}
