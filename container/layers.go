package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/store"
	"github.com/gofrs/flock"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
)

// Layers unpacked for containers (ROOT/layers/CHAINID) are kept while some
// container's image needs them and collected after. A process that may
// unpack or mount layers for a container whose record is not yet listed
// (run, between saving the record and mounting) holds layers.lock shared;
// collection takes it exclusively with a try-lock and skips when it
// cannot, as the image store's collection does.

func (p records) layersLock() *flock.Flock {
	return rootfile.Lock(filepath.Join(p.root, "layers.lock"))
}

// usingLayers holds off layer collection until done is called.
func (p records) usingLayers() (done func(), err error) {
	if err := os.MkdirAll(p.root, 0700); err != nil {
		return nil, err
	}
	l := p.layersLock()
	if err := l.RLock(); err != nil {
		return nil, fmt.Errorf("lock unpacked layers: %w", err)
	}
	return func() { l.Unlock() }, nil
}

// LayerUsage is what ROOT/layers holds: its size, and how much of it no
// container needs.
type LayerUsage struct {
	Size, Reclaimable int64
}

// neededLayers returns the chain IDs of every container's image's layers.
// Any error is returned, never a partial answer: collection must not
// delete a layer because an image could not be read.
func (p records) neededLayers(ctx context.Context, st *store.Store, all []*Container) (map[string]bool, error) {
	need := map[string]bool{}
	for _, c := range all {
		d, err := st.Details(ctx, c.Target)
		if err != nil {
			return nil, fmt.Errorf("container %s: its image %s: %w", c.ID[:12], c.Image, err)
		}
		for _, id := range identity.ChainIDs(append([]digest.Digest(nil), d.Config.RootFS.DiffIDs...)) {
			need[id.Encoded()] = true
		}
	}
	return need, nil
}

// collectLayers removes unpacked layers that no container needs, and what
// killed unpacks left; it returns the bytes freed. It does nothing while
// another process may be about to use a layer.
func (p records) collectLayers(ctx context.Context, st *store.Store, rt runtime.Runtime) (int64, error) {
	l := p.layersLock()
	ok, err := l.TryLock()
	if err != nil || !ok {
		return 0, err
	}
	defer l.Unlock()
	all, err := p.list(ctx, rt)
	if err != nil {
		return 0, err
	}
	need, err := p.neededLayers(ctx, st, all)
	if err != nil {
		return 0, fmt.Errorf("collect unpacked layers: %w", err)
	}
	ents, err := os.ReadDir(p.layers())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var freed int64
	for _, e := range ents {
		if need[e.Name()] {
			continue
		}
		dir := filepath.Join(p.layers(), e.Name())
		size, _ := dirSize(dir)
		if err := os.RemoveAll(dir); err != nil {
			return freed, fmt.Errorf("collect unpacked layer %s: %w", e.Name(), err)
		}
		freed += size
	}
	return freed, nil
}

// Layers reports the size of the unpacked layers and how much of it no
// container needs.
func (m Manager) Layers(ctx context.Context) (LayerUsage, error) {
	p := m.records()
	var u LayerUsage
	all, err := p.list(ctx, m.Runtime)
	if err != nil {
		return u, err
	}
	need, err := p.neededLayers(ctx, m.Store, all)
	if err != nil {
		return u, err
	}
	ents, err := os.ReadDir(p.layers())
	if errors.Is(err, os.ErrNotExist) {
		return u, nil
	}
	if err != nil {
		return u, err
	}
	for _, e := range ents {
		size, err := dirSize(filepath.Join(p.layers(), e.Name()))
		if err != nil {
			return u, err
		}
		u.Size += size
		if !need[e.Name()] {
			u.Reclaimable += size
		}
	}
	return u, nil
}

// dirSize is the apparent size of the regular files below dir, as docker's
// system df counts a layer.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n, err
}
