package container

import (
	"github.com/builder-dev/builder/internal/runtime"

	"context"

	"github.com/builder-dev/builder/store"
)

// Usage is one container's disk use: its writable layer.
type Usage struct {
	Row
	Running bool
	Size    int64
	// Target is the image the container was made from.
	TargetDigest string
}

// DiskUsage reports each container's writable layer and what the
// unpacked layers under the root hold.
func DiskUsage(ctx context.Context, st *store.Store, root string, rt runtime.Runtime) ([]Usage, LayerUsage, error) {
	p := NewPaths(root)
	all, err := p.List(ctx, rt)
	if err != nil {
		return nil, LayerUsage{}, err
	}
	var out []Usage
	for _, c := range all {
		size, err := dirSize(p.upper(c.ID))
		if err != nil {
			return nil, LayerUsage{}, err
		}
		out = append(out, Usage{Row: row(c, false), Running: c.Running, Size: size, TargetDigest: c.Target.Digest.String()})
	}
	layers, err := Layers(ctx, st, root, rt)
	return out, layers, err
}
