package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	"golang.org/x/sys/unix"
)

// layerDirs unpacks each of the image's layers once into its own directory
// under layersRoot, keyed by chain ID, and returns them bottom first. The
// directories are overlayfs lower layers: OCI whiteouts become overlay
// whiteouts as they are unpacked.
func layerDirs(ctx context.Context, st content.Provider, d store.Details, layersRoot string) ([]string, error) {
	diffIDs := d.Config.RootFS.DiffIDs
	if len(diffIDs) != len(d.Manifest.Layers) {
		return nil, fmt.Errorf("image %s: %d layers but %d diff IDs in its config", d.ID(), len(d.Manifest.Layers), len(diffIDs))
	}
	chain := identity.ChainIDs(append([]digest.Digest(nil), diffIDs...))
	if err := os.MkdirAll(layersRoot, 0700); err != nil {
		return nil, err
	}
	dirs := make([]string, len(chain))
	for i, id := range chain {
		dir := filepath.Join(layersRoot, id.Encoded())
		dirs[i] = dir
		if _, err := os.Stat(dir); err == nil {
			continue
		}
		if err := unpack(ctx, st, d, i, dir); err != nil {
			return nil, err
		}
	}
	return dirs, nil
}

// unpack applies layer i into a fresh directory and renames it into place,
// so a half-unpacked layer is never used; a concurrent unpack of the same
// layer simply loses the race.
func unpack(ctx context.Context, st content.Provider, d store.Details, i int, dir string) error {
	desc := d.Manifest.Layers[i]
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// MkdirTemp makes 0700; a layer whose tar has no "./" entry keeps this
	// directory's mode as its root's, and / must be 0755 as in docker.
	if err := os.Chmod(tmp, 0755); err != nil {
		return err
	}
	ra, err := st.ReaderAt(ctx, desc)
	if err != nil {
		return fmt.Errorf("open layer %s: %w", desc.Digest, err)
	}
	defer ra.Close()
	r, err := store.Decompress(content.NewReader(ra))
	if err != nil {
		return fmt.Errorf("decompress layer %s: %w", desc.Digest, err)
	}
	defer r.Close()
	verifier := d.Config.RootFS.DiffIDs[i].Verifier()
	tr := io.TeeReader(r, verifier)
	if _, err := archive.Apply(ctx, tmp, tr, archive.WithConvertWhiteout(archive.OverlayConvertWhiteout)); err != nil {
		return fmt.Errorf("unpack layer %s: %w", desc.Digest, err)
	}
	// The tar's end padding is part of the diff ID too.
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return fmt.Errorf("unpack layer %s: %w", desc.Digest, err)
	}
	if !verifier.Verified() {
		return fmt.Errorf("unpack layer %s: content does not match diff ID %s", desc.Digest, d.Config.RootFS.DiffIDs[i])
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) && !errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("store unpacked layer %s: %w", desc.Digest, err)
	}
	return nil
}

// lowerdir is overlayfs's lowerdir value for layers given bottom first
// (overlayfs wants the top one first), below any dirs given as above.
func lowerdir(lowers []string, above ...string) string {
	dirs := append([]string{}, above...)
	for i := len(lowers) - 1; i >= 0; i-- {
		dirs = append(dirs, lowers[i])
	}
	return strings.Join(dirs, ":")
}

// mountRootfs mounts lowers (bottom first) with upper and work as an
// overlay on target.
func mountRootfs(lowers []string, upper, work, target string) error {
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lowerdir(lowers), upper, work)
	if len(opts) >= os.Getpagesize() {
		return fmt.Errorf("image has too many layers (%d) for one overlay mount", len(lowers))
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount container rootfs: %w", err)
	}
	return nil
}

// imageLayers returns the details and unpacked layer directories of the
// image a container was made from.
func (p records) imageLayers(ctx context.Context, st Images, c *Container) (store.Details, []string, error) {
	d, err := st.Details(ctx, c.Target)
	if err != nil {
		return d, nil, fmt.Errorf("container %s: its image %s: %w", c.Name, c.Image, err)
	}
	lowers, err := layerDirs(ctx, st.Content(), d, p.layers())
	return d, lowers, err
}
